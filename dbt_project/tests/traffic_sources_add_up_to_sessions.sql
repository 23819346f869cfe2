{#- Σ sessions in traffic_sources_daily = fct_sessions rows, per site and local day
    (every session has exactly one source row). Returns the days that disagree. -#}
with

by_source as (

    select website_id, local_date, sum(sessions) as sessions
    from {{ ref('traffic_sources_daily') }}
    where {{ in_build_window('local_date') }}
    group by website_id, local_date

),

sessions as (

    select website_id, local_date, count() as sessions
    from {{ ref('fct_sessions') }}
    where {{ in_build_window('local_date') }}
    group by website_id, local_date

)

select
    website_id,
    local_date,
    by_source.sessions as traffic_source_sessions,
    sessions.sessions as fct_sessions_rows
from by_source
full outer join sessions using (website_id, local_date)
where by_source.sessions != sessions.sessions
