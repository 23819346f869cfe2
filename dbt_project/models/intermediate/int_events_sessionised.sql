{{ config(
    order_by='(website_id, visitor_id, client_ts, event_id)',
    partition_by='local_date',
) }}
{#-
  Events in site-local time, split into sessions. A visitor's events, ordered by
  (client_ts, event_id), start a new session when (GA's rules; docs/dbt.md):

    1. it is the visitor's first event of the site-local day: sessions end at local
       midnight (which is also rule 1, the visitor's first event);
    2. more than session_timeout_minutes passed since the visitor's previous event
       (exactly the timeout does not);
    3. it carries a traffic source different from the session's: a campaign
       (utm_source, utm_medium, utm_campaign, any non-empty) or an external referrer
       host (without www., not the site's domain or a subdomain). Direct traffic and
       internal navigation never start a session; the session's source is its first
       event's;
    4. 24 hours or more passed since the session's first event (a 25-hour day).

  Sessions never cross a site-local midnight, so one day's sessions need only that
  day's events: each run rebuilds whole days, self-contained.

  Rule 3 compares with the source of the session's first event, which depends on
  where earlier sessions started. Within a stretch of activity that rules 1, 2 and 4
  do not cut (a "segment"), every sourced event either started the current session or
  matched its source, so the session's source is that of the segment's latest sourced
  event (none if there is none yet): a window function, no recursion. Rule 4 is
  applied in a second pass: a session of 24 hours or more can start only in the first
  hour of a 25-hour day, so at most one event per visitor and day is cut by it, and
  the first pass is exact up to that event.

  Bots of sites with bot_filtering are sessionised apart (is_excluded_bot is in the
  window's partition), so they never touch a person's sessions; the marts drop them.
-#}
{%- set timeout_ms = var('session_timeout_minutes') | int * 60000 -%}
{%- set max_session_ms = 24 * 3600 * 1000 -%}
{%- set visitor_day = 'partition by website_id, visitor_id, local_date, is_excluded_bot order by ts_ms, event_key' -%}
with

events as (

    select * from {{ ref('stg_events') }}
    where
        -- transaction_item rows repeat their transaction; asset and request rows are
        -- access-log hits that are no interaction
        event_type not in ('transaction_item', 'asset', 'request')
        and {{ utc_bounds_of_build_window('client_ts') }}

),

site_offsets as (

    select * from {{ ref('int_site_offsets_joined') }}

),

localised as (

    select
        events.event_id as event_id,
        events.website_id as website_id,
        events.visitor_id as visitor_id,
        events.user_id as user_id,
        events.event_type as event_type,
        events.event_category as event_category,
        events.event_action as event_action,
        events.event_label as event_label,
        events.event_value as event_value,
        events.client_ts as client_ts,
        events.loaded_at as loaded_at,
        events.page_host as page_host,
        events.page_path as page_path,
        events.page_title as page_title,
        events.referrer_host as referrer_host,
        events.utm_source as utm_source,
        events.utm_medium as utm_medium,
        events.utm_campaign as utm_campaign,
        events.traffic_source as traffic_source,
        events.traffic_medium as traffic_medium,
        events.traffic_campaign as traffic_campaign,
        events.traffic_channel as traffic_channel,
        events.device_type as device_type,
        events.browser_name as browser_name,
        events.os_name as os_name,
        events.country_code as country_code,
        events.transaction_id as transaction_id,
        events.revenue as revenue,
        events.currency as currency,
        events.is_bot as is_bot,
        events.is_bot and site_offsets.bot_filtering as is_excluded_bot,
        site_offsets.site_domain as site_domain,
        -- site-local wall-clock time, kept in a UTC-typed column: read it as is
        events.client_ts + toIntervalSecond(site_offsets.utc_offset_seconds) as local_ts,
        toDate(local_ts) as local_date

    from events
    asof inner join site_offsets
        on events.website_id = site_offsets.website_id
        and events.client_ts >= site_offsets.valid_from

),

keyed as (

    select
        *,
        toUnixTimestamp64Milli(client_ts) as ts_ms,
        -- ties in time are broken by the id's text, as the truth does
        toString(event_id) as event_key,
        lower(referrer_host) as referrer_host_lower,
        if(startsWith(referrer_host_lower, 'www.'), substring(referrer_host_lower, 5), referrer_host_lower)
            as referrer_host_bare,
        -- the event's session source: '' for none (direct, internal), else a key
        multiIf(
            utm_source != '' or utm_medium != '' or utm_campaign != '',
            concat('campaign', char(31), utm_source, char(31), utm_medium, char(31), utm_campaign),
            referrer_host_bare != ''
                and referrer_host_bare != site_domain
                and not endsWith(referrer_host_bare, concat('.', site_domain)),
            concat('referral', char(31), referrer_host_bare),
            ''
        ) as source_key

    from localised
    where {{ in_build_window('local_date') }}

),

ordered as (

    select
        *,
        row_number() over visitor_day as event_number,
        lagInFrame(ts_ms, 1, 0) over visitor_day as previous_ts_ms,
        -- the latest earlier event with a source: (time, id, source)
        anyLastIf((ts_ms, event_key, source_key), source_key != '') over visitor_day_before
            as previous_sourced

    from keyed
    window
        visitor_day as ({{ visitor_day }} rows between unbounded preceding and current row),
        visitor_day_before as ({{ visitor_day }} rows between unbounded preceding and 1 preceding)

),

-- Pass 1: the day and inactivity cut segments; a new source cuts sessions in them.
segmented as (

    select
        *,
        event_number = 1 as is_day_start,
        ts_ms - previous_ts_ms > {{ timeout_ms }} as is_after_inactivity,
        anyLastIf((ts_ms, event_key), is_day_start or is_after_inactivity) over visitor_day as segment_start

    from ordered
    window visitor_day as ({{ visitor_day }} rows between unbounded preceding and current row)

),

first_pass as (

    select
        *,
        {{ is_source_change('segment_start') }} as is_source_change_first_pass,
        anyLastIf(ts_ms, is_day_start or is_after_inactivity or is_source_change_first_pass) over visitor_day
            as session_start_ms_first_pass

    from segmented
    window visitor_day as ({{ visitor_day }} rows between unbounded preceding and current row)

),

-- Pass 2: the 24-hour cap also cuts segments, and sources are compared again.
capped as (

    select
        *,
        ts_ms - session_start_ms_first_pass >= {{ max_session_ms }}
            and previous_ts_ms - session_start_ms_first_pass < {{ max_session_ms }} as is_after_max_duration,
        anyLastIf((ts_ms, event_key), is_day_start or is_after_inactivity or is_after_max_duration)
            over visitor_day as capped_segment_start

    from first_pass
    window visitor_day as ({{ visitor_day }} rows between unbounded preceding and current row)

),

flagged as (

    select
        *,
        {{ is_source_change('capped_segment_start') }} as is_source_change,
        is_day_start or is_after_inactivity or is_after_max_duration or is_source_change as is_session_start

    from capped

),

numbered as (

    select
        *,
        toUInt32(sum(toUInt32(is_session_start)) over visitor_day) as session_number,
        anyLastIf(event_id, is_session_start) over visitor_day as session_id,
        anyLastIf(client_ts, is_session_start) over visitor_day as session_started_at,
        anyLastIf(event_number, is_session_start) over visitor_day as session_first_event_number

    from flagged
    window visitor_day as ({{ visitor_day }} rows between unbounded preceding and current row)

),

final as (

    select
        -- identity
        event_id,
        website_id,
        visitor_id,
        user_id,

        -- session
        session_id,
        session_number,
        toUInt32(event_number - session_first_event_number + 1) as session_event_number,
        is_session_start,
        toLowCardinality(multiIf(
            is_day_start, 'first_of_day',
            is_after_inactivity, 'inactivity',
            is_after_max_duration, 'max_duration',
            is_source_change, 'traffic_source',
            ''
        )) as session_start_reason,
        session_started_at,

        -- time
        client_ts,
        local_ts,
        local_date,
        loaded_at,

        -- what happened
        event_type,
        event_category,
        event_action,
        event_label,
        event_value,

        -- page and attribution
        page_host,
        page_path,
        page_title,
        referrer_host,
        traffic_source,
        traffic_medium,
        traffic_campaign,
        traffic_channel,

        -- device and place
        device_type,
        browser_name,
        os_name,
        country_code,

        -- ecommerce
        transaction_id,
        revenue,
        currency,

        -- quality
        is_bot,
        is_excluded_bot

    from numbered

)

select * from final
