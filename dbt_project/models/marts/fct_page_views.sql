{{ config(
    order_by='(website_id, page_path, viewed_at)',
    partition_by='local_date',
) }}
{#-
  One row per page view (bots of sites with bot_filtering excluded), with its place in
  the session (computed with the sessions in int_events_sessionised). Time on page is
  Universal Analytics': until the session's next page view; a session's last page
  view (its exit) has none.
-#}
with

page_views as (

    select * from {{ ref('int_events_sessionised') }}
    where event_type = 'pageview' and not is_excluded_bot and {{ in_build_window('local_date') }}

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
        session_pageview_number as pageview_number,
        time_on_page_ms,
        pageview_number = 1 as is_entrance,
        time_on_page_ms is null as is_exit,
        is_entrance and is_exit as is_bounce

    from page_views

)

select * from final
