{{ config(materialized='view') }}
{#-
  Each site's UTC offset periods, with what the sessionisation needs of the site.
  Events find their offset with
      ASOF INNER JOIN int_site_offsets_joined o
          ON e.website_id = o.website_id AND e.client_ts >= o.valid_from
  because ClickHouse's time-zone functions take the zone as a constant, not a column.
-#}
with

sites as (

    select * from {{ ref('stg_sites') }}

),

offsets as (

    select * from {{ ref('stg_timezone_offsets') }}

),

joined as (

    select
        sites.website_id as website_id,
        sites.domain as site_domain,
        sites.timezone as timezone,
        sites.bot_filtering as bot_filtering,
        offsets.valid_from as valid_from,
        offsets.utc_offset_seconds as utc_offset_seconds

    from sites
    inner join offsets on offsets.timezone = sites.timezone

)

select * from joined
