{{ config(
    order_by='(website_id, page_path, viewed_at)',
    partition_by='local_date',
) }}
{#-
  One row per page view (bots of filtering sites excluded), with its place in the
  session. Time on page is Universal Analytics': until the session's next page view;
  a session's last page view (its exit) has none.
-#}
{%- set in_session = 'partition by session_id order by session_event_number' -%}
with

page_views as (

    select * from {{ ref('int_events_sessionised') }}
    where event_type = 'pageview' and not is_excluded_bot and {{ in_build_window('local_date') }}

),

sequenced as (

    select
        *,
        toUInt32(row_number() over running) as pageview_number,
        count() over whole_session as session_pageviews,
        leadInFrame(toNullable(ts_ms), 1) over next_one as next_ts_ms

    from (select *, toUnixTimestamp64Milli(client_ts) as ts_ms from page_views)
    window
        running as ({{ in_session }} rows between unbounded preceding and current row),
        whole_session as ({{ in_session }} rows between unbounded preceding and unbounded following),
        next_one as ({{ in_session }} rows between current row and 1 following)

),

final as (

    select
        event_id as page_view_id,
        session_id,
        website_id,
        visitor_id,
        local_date,
        client_ts as viewed_at,
        local_ts as viewed_at_local,
        page_host,
        page_path,
        page_title,
        device_type,
        browser_name,
        os_name,
        country_code,
        pageview_number,
        toUInt64(next_ts_ms - ts_ms) as time_on_page_ms,
        pageview_number = 1 as is_entrance,
        pageview_number = session_pageviews as is_exit,
        session_pageviews = 1 as is_bounce

    from sequenced

)

select * from final
