{#-
  The site-local days whose marts no longer match raw.events: the partitions the
  orchestrator must rebuild (dbt build with the window min_date = max_date = D).

  For each site and local day in the last late_data_lookback_days, it compares the
  events raw.events holds now with the events int_events_sessionised was built from
  (the same dedup and the same filters):
    late_events      raw has events the build did not see: late arrivals, or a load
                     that finished after the build started;
    never_built      raw has the day, the marts do not;
    events_removed   the build saw events raw no longer has (a reload that collapsed
                     duplicates, or retention). The marts keep them: rebuild only if
                     that is wrong.
  last_built_at is from the build log (transform_day_builds).

  The lookback is bounded because the loaders reject events more than
  ingest.max_event_age_days old: older days cannot receive late data.
-#}
{%- set lookback = var('late_data_lookback_days') | int -%}
with

site_offsets as (

    select * from {{ ref('int_site_offsets_joined') }}

),

raw_events as (

    select website_id, client_ts, loaded_at
    from {{ ref('stg_events') }}
    where
        event_type not in ('transaction_item', 'asset', 'request')
        and client_ts >= now64(3, 'UTC') - toIntervalDay({{ lookback }} + 2)

),

raw_days as (

    select
        raw_events.website_id as website_id,
        toDate(raw_events.client_ts + toIntervalSecond(site_offsets.utc_offset_seconds)) as local_date,
        count() as raw_events,
        max(raw_events.loaded_at) as last_loaded_at

    from raw_events
    asof inner join site_offsets
        on raw_events.website_id = site_offsets.website_id
        and raw_events.client_ts >= site_offsets.valid_from
    group by website_id, local_date

),

built_days as (

    select website_id, local_date, count() as built_events
    from {{ ref('int_events_sessionised') }}
    where local_date >= today() - {{ lookback }}
    group by website_id, local_date

),

builds as (

    select website_id, local_date, max(built_at) as last_built_at
    from {{ day_builds_relation() }}
    where local_date >= today() - {{ lookback }}
    group by website_id, local_date

),

compared as (

    select
        website_id,
        local_date,
        raw_days.raw_events as raw_events,
        built_days.built_events as built_events,
        raw_days.last_loaded_at as last_loaded_at,
        builds.last_built_at as last_built_at,
        multiIf(
            built_days.built_events = 0, 'never_built',
            raw_days.raw_events > built_days.built_events, 'late_events',
            raw_days.raw_events < built_days.built_events, 'events_removed',
            ''
        ) as reason

    from raw_days
    full outer join built_days using (website_id, local_date)
    left join builds using (website_id, local_date)
    where local_date >= today() - {{ lookback }}

)

select * from compared
where reason != ''
