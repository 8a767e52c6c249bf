//! salesops: CRM history in object storage -> validated staging tables ->
//! shared intermediate building blocks -> Parquet marts, published with
//! write-audit-publish. The layers follow dbt's and point one way:
//! staging -> intermediate -> marts -> publish -> report, with `pipeline` on top
//! (the map of the code is "Development" in the README).

pub mod allocator;
pub mod calendar;
pub mod config;
pub mod currency;
pub mod domain;
pub mod engine;
pub mod error;
pub mod frames;
pub mod generate;
pub mod intermediate;
pub mod marts;
pub mod parquet;
pub mod pipeline;
pub mod presets;
pub mod publish;
pub mod report;
pub mod staging;
pub mod storage;

pub use error::{Error, Result};

/// Milliseconds since `started`: how logs and the manifest give durations.
pub fn millis_since(started: std::time::Instant) -> u64 {
    started.elapsed().as_millis() as u64
}

/// `work` for each item on its own thread, results in the items' order (a
/// panic on one is raised again here). polars' own pool runs the frame
/// work; the threads let independent reads, plans and writes overlap.
pub fn in_parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    std::thread::scope(|s| {
        let work = &work;
        let handles: Vec<_> = items
            .iter()
            .map(|item| s.spawn(move || work(item)))
            .collect();
        handles.into_iter().map(joined).collect()
    })
}

/// A scoped thread's result, its panic raised again here.
pub fn joined<R>(handle: std::thread::ScopedJoinHandle<'_, R>) -> R {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
