{{ config(
    order_by='(website_id, local_date, channel, source, medium, campaign)',
    partition_by='local_date',
) }}
{#-
  Sessions per site, site-local day and traffic source (the seed's
  traffic_sources_daily). Sessions, new users, page views, transactions, revenue,
  bounces and durations add up over any rows; users do not: uniqExactMerge(users_state).
  A new user is a visitor's first session ever (first seen that day, session 1).
-#}
with

sessions as (

    select * from {{ ref('fct_sessions') }}
    where {{ in_build_window('local_date') }}

),

daily as (

    select
        website_id,
        local_date,
        traffic_source as source,
        traffic_medium as medium,
        traffic_campaign as campaign,
        traffic_channel as channel,
        count() as sessions,
        uniqExactState(visitor_id) as users_state,
        finalizeAggregation(users_state) as users,
        countIf(is_first_visit) as new_users,
        sum(pageviews) as pageviews,
        sum(conversions) as transactions,
        sum(revenue) as revenue,
        countIf(is_bounce) as bounces,
        bounces / sessions as bounce_rate,
        sum(duration_ms) as session_duration_ms_total,
        session_duration_ms_total / sessions / 1000 as avg_session_duration_seconds

    from sessions
    group by website_id, local_date, source, medium, campaign, channel

)

select * from daily
