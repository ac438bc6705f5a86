-- Azure Activity Log records, each once per subscription: the same record delivered twice (a
-- re-read blob, a late append) has the same record_key.
with source as (
    select * from rollup_azure__activity_events
),

final as (
    select * exclude (date, hour, hour_start, _source_key, _source_line),
        _source_key as source_key
    from source
    qualify row_number() over (partition by subscription_id, record_key order by _source_key, _source_line) = 1
)

select * from final
