{{ config(
    order_by='(website_id, local_date, hour_local, page_path, country_code, device_type)',
    partition_by='local_date',
) }}
{#-
  Page views per site, site-local hour, page, country and device (the seed's
  page_views_hourly). visitors and sessions are exact for the row; across rows, merge
  the states: uniqExactMerge(visitors_state). Never add visitors up.
  hour_local is wall-clock local time (a UTC-typed value whose digits are local): on a
  day when clocks go back, the repeated hour's two halves share one row.
-#}
with

page_views as (

    select * from {{ ref('fct_page_views') }}
    where {{ in_build_window('local_date') }}

),

hourly as (

    select
        website_id,
        local_date,
        toStartOfHour(viewed_at_local) as hour_local,
        page_path,
        country_code,
        device_type,
        count() as pageviews,
        uniqExactState(visitor_id) as visitors_state,
        finalizeAggregation(visitors_state) as visitors,
        uniqExactState(session_id) as sessions_state,
        finalizeAggregation(sessions_state) as sessions,
        countIf(is_entrance) as entrances,
        countIf(is_exit) as exits,
        countIf(is_bounce) as bounces,
        -- time on page: totals, so averages over any rows stay exact
        sum(ifNull(time_on_page_ms, 0)) as time_on_page_ms_total,
        count(time_on_page_ms) as timed_pageviews,
        if(timed_pageviews > 0, time_on_page_ms_total / timed_pageviews / 1000, null)
            as avg_time_on_page_seconds

    from page_views
    group by website_id, local_date, hour_local, page_path, country_code, device_type

)

select * from hourly
