-- Jobs not yet ended, by when their row last changed: the reconcile task finds rows whose process died
-- before recording the job's end, and /health's stuck_jobs counts long-running ones, from this one index.
create index jobs_open_idx on jobs (changed_at) where status in ('queued', 'processing');
drop index jobs_processing_idx;
