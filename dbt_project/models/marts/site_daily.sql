{{ config(
    order_by='(website_id, local_date)',
    partition_by='local_date',
) }}
{#-
  One row per site and site-local day: the daily summary. Bots of filtering sites are
  out of every figure but bot_events and bot_pageviews, which count them.
  visitors over several days: uniqExactMerge(visitors_state).
-#}
with

sessions as (

    select * from {{ ref('fct_sessions') }}
    where {{ in_build_window('local_date') }}

),

events as (

    select * from {{ ref('int_events_sessionised') }}
    where {{ in_build_window('local_date') }}

),

session_totals as (

    select
        website_id,
        local_date,
        count() as sessions,
        uniqExactState(visitor_id) as visitors_state,
        countIf(is_first_visit) as new_visitors,
        sum(pageviews) as pageviews,
        countIf(is_bounce) as bounces,
        sum(conversions) as conversions,
        sum(revenue) as revenue,
        -- one currency per site in practice; the smallest code is a stable choice
        minIf(currency, currency != '') as currency,
        sum(duration_ms) as session_duration_ms_total

    from sessions
    group by website_id, local_date

),

bot_totals as (

    select
        website_id,
        local_date,
        countIf(is_bot) as bot_events,
        countIf(is_bot and event_type = 'pageview') as bot_pageviews

    from events
    group by website_id, local_date

),

final as (

    select
        website_id,
        local_date,
        session_totals.pageviews as pageviews,
        session_totals.visitors_state as visitors_state,
        finalizeAggregation(session_totals.visitors_state) as visitors,
        session_totals.new_visitors as new_visitors,
        session_totals.sessions as sessions,
        session_totals.bounces as bounces,
        if(sessions > 0, bounces / sessions, null) as bounce_rate,
        if(sessions > 0, pageviews / sessions, null) as pageviews_per_session,
        session_totals.session_duration_ms_total as session_duration_ms_total,
        if(sessions > 0, session_duration_ms_total / sessions / 1000, null) as avg_session_duration_seconds,
        session_totals.conversions as conversions,
        session_totals.revenue as revenue,
        session_totals.currency as currency,
        bot_totals.bot_events as bot_events,
        bot_totals.bot_pageviews as bot_pageviews

    from bot_totals
    left join session_totals using (website_id, local_date)

)

select * from final
