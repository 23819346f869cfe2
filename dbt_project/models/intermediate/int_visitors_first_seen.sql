{{ config(
    incremental_strategy='append',
    on_schema_change='fail',
    engine='AggregatingMergeTree()',
    order_by='(website_id, visitor_id)',
) }}
{#-
  The first site-local day each visitor was seen (bots of filtering sites excluded),
  over all days ever built. Each run appends the minimum over its window and the
  engine keeps the minimum per visitor, so reruns and late days only ever lower it:
  readers take min(first_seen_date) per visitor (rows merge in the background).
  A --full-refresh must cover all of history (no min_date/max_date), or the days
  outside the window are forgotten.
-#}
with

events as (

    select website_id, visitor_id, local_date
    from {{ ref('int_events_sessionised') }}
    where not is_excluded_bot and {{ in_build_window('local_date') }}

),

first_seen as (

    select
        website_id,
        visitor_id,
        cast(min(local_date) as SimpleAggregateFunction(min, Date)) as first_seen_date

    from events
    group by website_id, visitor_id

)

select * from first_seen
