{#- site_daily's sessions, bounces and page views equal the facts', and the page-view
    aggregates add up to the same page views, per site and local day. Returns the days
    that disagree. -#}
with

summary as (

    select website_id, local_date, sessions, bounces, pageviews
    from {{ ref('site_daily') }}
    where {{ in_build_window('local_date') }} and sessions > 0

),

sessions as (

    select website_id, local_date, count() as sessions, countIf(is_bounce) as bounces
    from {{ ref('fct_sessions') }}
    where {{ in_build_window('local_date') }}
    group by website_id, local_date

),

page_views as (

    select website_id, local_date, count() as pageviews
    from {{ ref('fct_page_views') }}
    where {{ in_build_window('local_date') }}
    group by website_id, local_date

),

hourly as (

    select website_id, local_date, sum(pageviews) as pageviews
    from {{ ref('page_views_hourly') }}
    where {{ in_build_window('local_date') }}
    group by website_id, local_date

),

daily as (

    select website_id, local_date, sum(pageviews) as pageviews, sum(bounces) as bounces
    from {{ ref('page_views_daily') }}
    where {{ in_build_window('local_date') }}
    group by website_id, local_date

)

select
    website_id,
    local_date,
    summary.sessions,
    sessions.sessions as fct_sessions_rows,
    summary.pageviews,
    page_views.pageviews as fct_page_views_rows,
    hourly.pageviews as hourly_pageviews,
    daily.pageviews as daily_pageviews,
    summary.bounces,
    daily.bounces as page_bounces
from summary
full outer join sessions using (website_id, local_date)
full outer join page_views using (website_id, local_date)
full outer join hourly using (website_id, local_date)
full outer join daily using (website_id, local_date)
where summary.sessions != sessions.sessions
    or summary.bounces != sessions.bounces
    or summary.bounces != daily.bounces
    or summary.pageviews != page_views.pageviews
    or summary.pageviews != hourly.pageviews
    or summary.pageviews != daily.pageviews
