{#- The goals of the newest sites snapshot (a sync writes goals before sites). -#}
with

source as (

    select * from {{ source('meta', 'site_goals') }}

),

latest as (

    select * from source
    where synced_at = (select max(synced_at) from {{ source('meta', 'sites') }})

),

renamed as (

    select
        website_id,
        goal_name,
        kind as goal_kind,
        page_path,
        match_type,
        event_category,
        event_action,
        event_label,
        min_duration_seconds,
        min_pageviews,
        goal_value

    from latest

)

select * from renamed
