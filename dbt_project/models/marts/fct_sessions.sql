{{ config(
    order_by='(website_id, session_started_at, session_id)',
    partition_by='local_date',
) }}
{#-
  One row per session (bots of filtering sites excluded). A session's traffic source is
  that of its first event not referred by the site itself (the loader's attribution:
  UTM, click id, referrer), or the first event's when all are internal.
-#}
with

events as (

    select * from {{ ref('int_events_sessionised') }}
    where not is_excluded_bot and {{ in_build_window('local_date') }}

),

first_seen as (

    select visitor_key, min(first_seen_date) as first_seen_date
    from {{ ref('int_visitors_first_seen') }}
    where visitor_key in (
        select {{ visitor_key('website_id', 'visitor_id') }} from events where session_number = 1
    )
    group by visitor_key

),

sessions as (

    select
        session_id,
        website_id,
        visitor_id,
        local_date,
        session_number,
        argMax(user_id, session_event_number) as user_id,

        -- time
        min(client_ts) as session_started_at,
        max(client_ts) as session_ended_at,
        min(local_ts) as session_started_at_local,
        toUInt64(toUnixTimestamp64Milli(session_ended_at) - toUnixTimestamp64Milli(session_started_at))
            as duration_ms,
        duration_ms / 1000 as duration_seconds,

        -- activity
        countIf(event_type = 'pageview') as pageviews,
        count() as events,
        countIf(event_type = 'event') as custom_events,
        pageviews = 1 as is_bounce,
        argMinIf(page_path, session_event_number, event_type = 'pageview') as landing_page,
        argMaxIf(page_path, session_event_number, event_type = 'pageview') as exit_page,

        -- attribution: the first event not referred by the site itself
        argMin(
            (traffic_source, traffic_medium, traffic_campaign, traffic_channel),
            (traffic_source = '(internal)', session_event_number)
        ) as attribution,
        argMin(session_start_reason, session_event_number) as start_reason,

        -- device and place, of the first event
        argMin((device_type, browser_name, os_name, country_code), session_event_number) as client,

        -- ecommerce
        countIf(event_type = 'transaction') as conversions,
        sumIf(ifNull(revenue, 0), event_type = 'transaction') as revenue,
        argMinIf(currency, session_event_number, event_type = 'transaction') as currency

    from events
    group by session_id, website_id, visitor_id, local_date, session_number

),

final as (

    select
        sessions.session_id as session_id,
        sessions.website_id as website_id,
        sessions.visitor_id as visitor_id,
        sessions.user_id as user_id,
        sessions.local_date as local_date,
        sessions.session_number as session_number,
        sessions.session_number = 1 and first_seen.first_seen_date = sessions.local_date as is_first_visit,
        sessions.session_started_at as session_started_at,
        sessions.session_ended_at as session_ended_at,
        sessions.session_started_at_local as session_started_at_local,
        sessions.duration_ms as duration_ms,
        sessions.duration_seconds as duration_seconds,
        sessions.pageviews as pageviews,
        sessions.events as events,
        sessions.custom_events as custom_events,
        sessions.is_bounce as is_bounce,
        sessions.landing_page as landing_page,
        sessions.exit_page as exit_page,
        toLowCardinality(sessions.attribution.1) as traffic_source,
        toLowCardinality(sessions.attribution.2) as traffic_medium,
        toLowCardinality(sessions.attribution.3) as traffic_campaign,
        toLowCardinality(sessions.attribution.4) as traffic_channel,
        sessions.start_reason as start_reason,
        toLowCardinality(sessions.client.1) as device_type,
        toLowCardinality(sessions.client.2) as browser_name,
        toLowCardinality(sessions.client.3) as os_name,
        toLowCardinality(sessions.client.4) as country_code,
        sessions.conversions as conversions,
        sessions.revenue as revenue,
        sessions.currency as currency

    from sessions
    left join first_seen
        on first_seen.visitor_key = {{ visitor_key('sessions.website_id', 'sessions.visitor_id') }}

)

select * from final
