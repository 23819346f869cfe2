{{ config(
    order_by='(website_id, local_date, page_path, country_code, device_type)',
    partition_by='local_date',
) }}
{#-
  Page views per site, site-local day, page, country and device (the seed's
  page_views), rolled up from page_views_hourly by merging its states. visitors is
  exact for the row; over several days, uniqExactMerge(visitors_state). sessions never
  span days, so they add up across days (not across pages: merge sessions_state).
-#}
with

hourly as (

    select * from {{ ref('page_views_hourly') }}
    where {{ in_build_window('local_date') }}

),

daily as (

    select
        website_id,
        local_date,
        page_path,
        country_code,
        device_type,
        sum(pageviews) as pageviews,
        uniqExactMergeState(visitors_state) as visitors_state,
        finalizeAggregation(visitors_state) as visitors,
        uniqExactMergeState(sessions_state) as sessions_state,
        finalizeAggregation(sessions_state) as sessions,
        sum(entrances) as entrances,
        sum(exits) as exits,
        sum(bounces) as bounces,
        sum(time_on_page_ms_total) as time_on_page_ms_total,
        sum(timed_pageviews) as timed_pageviews,
        if(timed_pageviews > 0, time_on_page_ms_total / timed_pageviews / 1000, null)
            as avg_time_on_page_seconds

    from hourly
    group by website_id, local_date, page_path, country_code, device_type

)

select * from daily
