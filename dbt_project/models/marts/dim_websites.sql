{{ config(materialized='table', engine='MergeTree()', order_by='website_id') }}
{#- The tracked websites as configured (the newest `beaconhouse sites sync`). -#}
with

sites as (

    select * from {{ ref('stg_sites') }}

),

goals as (

    select website_id, count() as goals
    from {{ ref('stg_site_goals') }}
    group by website_id

),

final as (

    select
        sites.website_id as website_id,
        sites.site_name as site_name,
        sites.domain as domain,
        sites.tracking_id as tracking_id,
        sites.timezone as timezone,
        sites.retention_days as retention_days,
        sites.bot_filtering as bot_filtering,
        sites.ip_anonymization as ip_anonymization,
        sites.sampling_rate as sampling_rate,
        goals.goals as goals,
        sites.synced_at as synced_at

    from sites
    left join goals on goals.website_id = sites.website_id

)

select * from final
