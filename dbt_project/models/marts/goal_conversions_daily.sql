{{ config(
    order_by='(website_id, local_date, goal_name)',
    partition_by='local_date',
) }}
{#-
  Conversions per site, site-local day and goal, with the day's sessions for the
  conversion rate. A goal no session reached that day has a row with 0 conversions
  when the site had sessions. Converting visitors over several days:
  uniqExactMerge(converting_visitors_state).
-#}
with

goals as (

    select * from {{ ref('stg_site_goals') }}

),

conversions as (

    select * from {{ ref('fct_goal_conversions') }}
    where {{ in_build_window('local_date') }}

),

site_days as (

    select website_id, local_date, count() as sessions
    from {{ ref('fct_sessions') }}
    where {{ in_build_window('local_date') }}
    group by website_id, local_date

),

per_goal as (

    select
        website_id,
        local_date,
        goal_name,
        count() as conversions,
        uniqExactState(visitor_id) as converting_visitors_state

    from conversions
    group by website_id, local_date, goal_name

),

final as (

    select
        site_days.website_id as website_id,
        site_days.local_date as local_date,
        goals.goal_name as goal_name,
        goals.goal_kind as goal_kind,
        per_goal.conversions as conversions,
        per_goal.converting_visitors_state as converting_visitors_state,
        finalizeAggregation(per_goal.converting_visitors_state) as converting_visitors,
        site_days.sessions as sessions,
        per_goal.conversions / site_days.sessions as conversion_rate,
        per_goal.conversions * goals.goal_value as goal_value_total

    from site_days
    inner join goals on goals.website_id = site_days.website_id
    left join per_goal
        on per_goal.website_id = site_days.website_id
        and per_goal.local_date = site_days.local_date
        and per_goal.goal_name = goals.goal_name

)

select * from final
