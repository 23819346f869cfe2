{#- The sites of the newest `beaconhouse sites sync`. -#}
with

source as (

    select * from {{ source('meta', 'sites') }}

),

latest as (

    select * from source
    where synced_at = (select max(synced_at) from source)

),

renamed as (

    select
        website_id,
        -- compared with referrer hosts, which the loader lower-cases
        lower(domain) as domain,
        name as site_name,
        tracking_id,
        timezone,
        retention_days,
        bot_filtering,
        ip_anonymization,
        sampling_rate,
        synced_at

    from latest

)

select * from renamed
