{#- UTC offset periods of each time zone, from its newest sync. -#}
with

source as (

    select * from {{ source('meta', 'timezone_offsets') }}

),

latest as (

    select * from source
    where (timezone, synced_at) in (
        select timezone, max(synced_at) from source group by timezone
    )

),

renamed as (

    select
        timezone,
        valid_from,
        utc_offset_seconds

    from latest

)

select * from renamed
