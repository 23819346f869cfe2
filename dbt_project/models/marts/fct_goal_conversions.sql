{{ config(
    order_by='(website_id, goal_name, converted_at, session_id)',
    partition_by='local_date',
) }}
{#-
  One row per session and configured goal it reached (a session converts at most once
  per goal). converted_at is the event that reached it:
    destination        the first page view whose path matches (exact, prefix or RE2 regex);
    event              the first event whose category, action and label match (empty = any);
    duration           the first event at least min_duration_seconds after the session's start;
    pages_per_session  the min_pageviews-th page view.
-#}
with

goals as (

    select * from {{ ref('stg_site_goals') }}

),

events as (

    select * from {{ ref('int_events_sessionised') }}
    where not is_excluded_bot and {{ in_build_window('local_date') }}

),

page_views as (

    select * from {{ ref('fct_page_views') }}
    where {{ in_build_window('local_date') }}

),

reached as (

    select
        page_views.website_id as website_id,
        page_views.local_date as local_date,
        page_views.session_id as session_id,
        page_views.visitor_id as visitor_id,
        goals.goal_name as goal_name,
        page_views.viewed_at as reached_at
    from page_views
    inner join goals on goals.website_id = page_views.website_id
    where
        (goals.goal_kind = 'destination' and multiIf(
            goals.match_type = 'exact', page_views.page_path = goals.page_path,
            goals.match_type = 'prefix', startsWith(page_views.page_path, goals.page_path),
            match(page_views.page_path, goals.page_path)
        ))
        or (goals.goal_kind = 'pages_per_session' and page_views.pageview_number = goals.min_pageviews)

    union all

    select
        events.website_id,
        events.local_date,
        events.session_id,
        events.visitor_id,
        goals.goal_name,
        events.client_ts
    from events
    inner join goals on goals.website_id = events.website_id
    where
        (goals.goal_kind = 'event'
            and events.event_type = 'event'
            and (goals.event_category = '' or events.event_category = goals.event_category)
            and (goals.event_action = '' or events.event_action = goals.event_action)
            and (goals.event_label = '' or events.event_label = goals.event_label))
        or (goals.goal_kind = 'duration'
            and toUnixTimestamp64Milli(events.client_ts) - toUnixTimestamp64Milli(events.session_started_at)
                >= goals.min_duration_seconds * 1000)

),

conversions as (

    select
        website_id,
        local_date,
        session_id,
        visitor_id,
        goal_name,
        min(reached_at) as converted_at

    from reached
    group by website_id, local_date, session_id, visitor_id, goal_name

),

final as (

    select
        conversions.website_id as website_id,
        conversions.local_date as local_date,
        conversions.session_id as session_id,
        conversions.visitor_id as visitor_id,
        conversions.goal_name as goal_name,
        goals.goal_kind as goal_kind,
        conversions.converted_at as converted_at,
        goals.goal_value as goal_value

    from conversions
    inner join goals
        on goals.website_id = conversions.website_id
        and goals.goal_name = conversions.goal_name

)

select * from final
