{#-
  One row per event, deduplicated as docs/schema.md designs it: FINAL collapses the
  copies of a redelivered event (they share the sorting key, which ends in event_id)
  to the latest load, and is_duplicate drops the repeats the loader saw under another
  key. Consumers filter on client_ts, which the view passes down to raw.events'
  partitions, so FINAL only ever merges the days being built.
-#}
with

source as (

    select * from {{ final(source('raw', 'events')) }}
    where not is_duplicate

),

renamed as (

    select
        -- identity
        event_id,
        website_id,
        visitor_id,
        visitor_id_kind,
        user_id,
        session_id as client_session_id,

        -- what happened
        event_type,
        event_category,
        event_action,
        event_label,
        event_value,

        -- when (UTC)
        client_ts,
        server_ts,
        loaded_at,

        -- page and referrer
        page_host,
        page_path,
        page_title,
        referrer_host,

        -- campaign parameters and the loader's attribution of the event
        utm_source,
        utm_medium,
        utm_campaign,
        traffic_source,
        traffic_medium,
        traffic_campaign,
        traffic_channel,

        -- device and place
        device_type,
        browser_name,
        os_name,
        country_code,

        -- ecommerce (totals on transaction events)
        transaction_id,
        revenue,
        currency,

        -- quality
        is_bot

    from source

)

select * from renamed
