//! A team of threads that share out one product by its output rows: the caller and helper
//! threads that live as long as the team (a trainer's), wait for work by spinning for a while
//! and then by parking, and run each job as soon as it is posted.
//!
//! # Why not rayon here
//!
//! Splitting a step's batch across rayon's threads (`train/parallel.rs`) reaches no more than
//! 1.0x on two cores for W3 (784-128-10, batch 64): both threads read all of the first layer's
//! weights in their forward pass and each writes half of them in the update, so 400 KB moves
//! between the cores' caches every step, and the caller sleeps outside rayon's pool while it
//! waits. Here each thread computes its own rows of a layer's outputs and updates its own rows
//! of the weights, so no weight is ever written on one core and read on the other, and a
//! helper that spins sees a new job within a microsecond instead of a futex wake-up (tens of
//! microseconds, and erratic, on the project's virtual machines).
//!
//! # Soundness
//!
//! A job is a reference to a closure on the caller's stack, posted to the helpers with its
//! lifetime erased. [`Team::run`] does not return, nor unwind, until every helper has finished
//! the job and said so (a guard waits in its `Drop`), so no helper touches the closure after
//! the borrow it came from has ended. Each helper runs each job exactly once: the caller posts
//! the next only after all have finished the last. A job is posted only through `&mut Team`,
//! so two callers never post at once.

use super::dispatch::ROW_TILE;
use core::cell::Cell;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long an idle helper spins before it parks: longer than the gap between two products
/// of one training step, and between two steps of `fit`, so that a busy trainer's helpers
/// never sleep; short enough that an idle trainer leaves the core within a fraction of a
/// millisecond.
const SPIN: Duration = Duration::from_micros(300);

/// How many turns of a spinning wait pass between two offers of the core to the scheduler.
const YIELD_EVERY: u32 = 64;

/// One turn of a spinning wait, the `spins`-th: a pause, and every [`YIELD_EVERY`] turns a
/// `sched_yield`, so that a thread this one waits for can run when the two share a core
/// (pinned to one, or a busy machine). Without it, a team on one core took 8x as long as one
/// thread (the whole wait of each product spent spinning in the other's time slice).
#[inline]
fn pause(spins: u32) {
    if spins.is_multiple_of(YIELD_EVERY) {
        thread::yield_now();
    } else {
        core::hint::spin_loop();
    }
}

/// What the caller and the helpers share.
struct Shared {
    /// The number of jobs posted so far; a helper runs a job when it sees this change.
    posted: AtomicUsize,
    /// The job of the last post: a `Job` on the caller's stack, valid until `pending` is 0.
    job: AtomicPtr<Job<'static>>,
    /// Helpers that have not yet finished the last job.
    pending: AtomicUsize,
    /// Set when the team is dropped.
    shutdown: AtomicBool,
}

/// One post: the work, called with each member's index, and whether a helper panicked in it.
struct Job<'a> {
    work: &'a (dyn Fn(usize) + Sync),
    panicked: AtomicBool,
}

/// The caller's thread and `helpers` threads of its own, which run the same job at once with
/// different indices.
pub(crate) struct Team {
    shared: Arc<Shared>,
    helpers: Vec<JoinHandle<()>>,
}

impl core::fmt::Debug for Team {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Team")
            .field("members", &self.members())
            .finish()
    }
}

impl Team {
    /// A team of `members` threads: the caller and `members - 1` helpers, started now. `None`
    /// when the system refuses a thread (the caller then works alone).
    pub(crate) fn new(members: usize) -> Option<Self> {
        let shared = Arc::new(Shared {
            posted: AtomicUsize::new(0),
            job: AtomicPtr::new(core::ptr::null_mut()),
            pending: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
        });
        let mut team = Self {
            shared,
            helpers: Vec::with_capacity(members.saturating_sub(1)),
        };
        for index in 1..members {
            let shared = Arc::clone(&team.shared);
            let helper = thread::Builder::new()
                .name(format!("typenn-team-{index}"))
                .spawn(move || serve(&shared, index))
                .ok()?;
            team.helpers.push(helper);
        }
        Some(team)
    }

    /// The caller and the helpers.
    pub(crate) fn members(&self) -> usize {
        self.helpers.len() + 1
    }

    /// Runs `work` with the team as the current one of this thread, so that the products it
    /// makes are shared out by [`split`].
    pub(crate) fn install<R>(&mut self, work: impl FnOnce() -> R) -> R {
        /// Puts back the team that was current before, also when `work` unwinds.
        struct Restore(*const Team);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.set(self.0);
            }
        }
        let _restore = Restore(CURRENT.replace(core::ptr::from_ref(self)));
        work()
    }

    /// Runs `work` with `team` installed, or as it is without one: one call of `work` for
    /// both, so that a caller compiles it once.
    pub(crate) fn install_in<R>(team: Option<&mut Self>, work: impl FnOnce() -> R) -> R {
        match team {
            Some(team) => team.install(work),
            None => work(),
        }
    }

    /// Calls `work(0)` on this thread and `work(index)` on each helper at the same time, and
    /// returns when all have returned. A panic in a helper is raised again here.
    fn run(&self, work: &(dyn Fn(usize) + Sync)) {
        let shared = &*self.shared;
        let job = Job {
            work,
            panicked: AtomicBool::new(false),
        };
        /// Waits until every helper has finished the job, also when the caller's part unwinds,
        /// so that no helper reads `job` after it has gone.
        struct Wait<'a>(&'a Shared);
        impl Drop for Wait<'_> {
            fn drop(&mut self) {
                let mut spins = 0u32;
                while self.0.pending.load(Ordering::Acquire) != 0 {
                    spins = spins.wrapping_add(1);
                    pause(spins);
                }
            }
        }
        shared.pending.store(self.helpers.len(), Ordering::Relaxed);
        // Only the lifetime is erased; `Wait` keeps `job` alive for as long as it is read.
        shared.job.store(
            core::ptr::from_ref(&job).cast_mut().cast(),
            Ordering::Relaxed,
        );
        shared.posted.fetch_add(1, Ordering::Release);
        for helper in &self.helpers {
            helper.thread().unpark();
        }
        {
            let _wait = Wait(shared);
            // A product inside the job runs on this thread alone.
            let outer = CURRENT.replace(core::ptr::null());
            work(0);
            CURRENT.set(outer);
        }
        assert!(
            !job.panicked.load(Ordering::Relaxed),
            "a thread of the training team panicked"
        );
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Release);
        for helper in self.helpers.drain(..) {
            helper.thread().unpark();
            // A helper catches its jobs' panics, so joining it cannot fail.
            let _ = helper.join();
        }
    }
}

/// A helper's life: wait for a job, run it with `index`, say it is done; until shutdown.
fn serve(shared: &Shared, index: usize) {
    let mut seen = 0;
    loop {
        let mut idle = Instant::now();
        let mut spins = 0u32;
        loop {
            if shared.shutdown.load(Ordering::Acquire) {
                return;
            }
            let posted = shared.posted.load(Ordering::Acquire);
            if posted != seen {
                seen = posted;
                break;
            }
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(YIELD_EVERY) && idle.elapsed() > SPIN {
                // An unpark between the load above and this park makes it return at once.
                thread::park();
                idle = Instant::now();
            } else {
                pause(spins);
            }
        }
        // SAFETY: the caller stored a live `Job` before the `posted` this thread has just read
        // with acquire ordering, and keeps it alive until `pending` reaches 0 below.
        let job = unsafe { &*shared.job.load(Ordering::Relaxed) };
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (job.work)(index)));
        if done.is_err() {
            job.panicked.store(true, Ordering::Relaxed);
        }
        shared.pending.fetch_sub(1, Ordering::Release);
    }
}

std::thread_local! {
    /// The team installed on this thread, or null.
    static CURRENT: Cell<*const Team> = const { Cell::new(core::ptr::null()) };
}

/// How many threads a product of `work` multiply-adds made on this thread may be shared among:
/// the installed team's members, or 1 without a team or for work below [`SPLIT_WORK`].
pub(crate) fn members(work: usize) -> usize {
    if work < SPLIT_WORK {
        return 1;
    }
    let team = CURRENT.get();
    if team.is_null() {
        1
    } else {
        // SAFETY: `install` keeps the team borrowed while it is current.
        unsafe { &*team }.members()
    }
}

/// The least multiply-adds a product must have to be shared out: about 10 us of one core's
/// work, ten times what handing it to a spinning helper and waiting for it costs.
pub(crate) const SPLIT_WORK: usize = 1 << 18;

/// Runs `work(part)` for every part `0..parts` of a product on the installed team, each part on
/// its own member (`parts` at most [`members`]), or all on this thread without a team.
pub(crate) fn split(parts: usize, work: &(dyn Fn(usize) + Sync)) {
    let team = CURRENT.get();
    if parts < 2 || team.is_null() {
        for part in 0..parts {
            work(part);
        }
        return;
    }
    // SAFETY: `install` keeps the team borrowed while it is current.
    let team = unsafe { &*team };
    let members = team.members();
    team.run(&|member| {
        let mut part = member;
        while part < parts {
            work(part);
            part += members;
        }
    });
}

/// How the rows of a product are shared out among the installed team: `count` parts of
/// consecutive whole tiles of [`ROW_TILE`] rows (the vector kernels' register tiles fit inside
/// one), so that every element is computed as on one thread.
#[derive(Clone, Copy)]
pub(crate) struct RowParts {
    rows: usize,
    tiles: usize,
    count: usize,
}

impl RowParts {
    /// The parts of a product of `rows` rows and `work` multiply-adds: one per member of the
    /// installed team, at most one per tile, one without a team or for small work.
    pub(crate) fn new(rows: usize, work: usize) -> Self {
        let tiles = rows.div_ceil(ROW_TILE);
        Self {
            rows,
            tiles,
            count: members(work).min(tiles).max(1),
        }
    }

    /// How many parts there are.
    pub(crate) fn count(self) -> usize {
        self.count
    }

    /// The rows of part `part`.
    pub(crate) fn rows(self, part: usize) -> core::ops::Range<usize> {
        let first = self.tiles * part / self.count * ROW_TILE;
        let last = (self.tiles * (part + 1) / self.count * ROW_TILE).min(self.rows);
        first..last
    }
}

/// A slice of f32 that the members of a team write at once, each only its own elements: a raw
/// pointer, because safe Rust cannot lend the rows of a column-major matrix apart.
#[derive(Clone, Copy)]
pub(crate) struct Disjoint {
    pointer: *mut f32,
    len: usize,
}

// SAFETY: `Disjoint` is made from a `&mut [f32]` that outlives the team's job (`split` returns
// before the kernel that made it does), and its users write disjoint elements.
unsafe impl Send for Disjoint {}
// SAFETY: as above.
unsafe impl Sync for Disjoint {}

impl Disjoint {
    pub(crate) fn new(values: &mut [f32]) -> Self {
        Self {
            pointer: values.as_mut_ptr(),
            len: values.len(),
        }
    }

    /// A pointer to the `lanes` (1 to `most`) floats from `start`, which the caller may read
    /// or write as long as no other thread touches them meanwhile.
    ///
    /// # Panics
    ///
    /// When they are not all inside the slice.
    #[inline(always)]
    pub(crate) fn at(self, start: usize, lanes: usize, most: usize) -> *mut f32 {
        assert!((1..=most).contains(&lanes) && start + lanes <= self.len);
        // SAFETY: `start` is inside the slice (the assert), so the offset stays in it.
        unsafe { self.pointer.add(start) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_once_on_the_team_and_without_it() {
        let count = |team: Option<&mut Team>| {
            let hits: Vec<AtomicUsize> = (0..7).map(|_| AtomicUsize::new(0)).collect();
            let work = || {
                for _ in 0..50 {
                    split(7, &|part| {
                        hits[part].fetch_add(1, Ordering::Relaxed);
                    });
                }
            };
            match team {
                Some(team) => team.install(work),
                None => work(),
            }
            hits.iter()
                .map(|hits| hits.load(Ordering::Relaxed))
                .collect::<Vec<_>>()
        };
        assert_eq!(count(None), vec![50; 7]);
        let mut team = Team::new(3).expect("threads");
        assert_eq!(team.members(), 3);
        assert_eq!(count(Some(&mut team)), vec![50; 7]);
    }

    #[test]
    fn the_parts_run_on_different_threads_at_once() {
        let mut team = Team::new(2).expect("threads");
        let arrived = AtomicUsize::new(0);
        let threads: Vec<std::sync::Mutex<Option<thread::ThreadId>>> =
            (0..2).map(|_| std::sync::Mutex::new(None)).collect();
        team.install(|| {
            split(2, &|part| {
                *threads[part].lock().expect("lock") = Some(thread::current().id());
                // Each part waits for the other: this ends only if they run at once.
                arrived.fetch_add(1, Ordering::AcqRel);
                while arrived.load(Ordering::Acquire) < 2 {
                    core::hint::spin_loop();
                }
            });
        });
        let first = threads[0].lock().expect("lock").expect("ran");
        let second = threads[1].lock().expect("lock").expect("ran");
        assert_eq!(first, thread::current().id());
        assert_ne!(first, second);
    }

    #[test]
    fn a_helper_that_panics_is_reported_and_the_team_goes_on() {
        let mut team = Team::new(2).expect("threads");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            team.install(|| split(2, &|part| assert_ne!(part, 1, "part 1 fails")));
        }));
        assert!(caught.is_err());
        let hits = AtomicUsize::new(0);
        team.install(|| {
            split(2, &|_| {
                hits.fetch_add(1, Ordering::Relaxed);
            });
        });
        assert_eq!(hits.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn small_products_and_threads_without_a_team_are_not_split() {
        assert_eq!(members(1 << 30), 1);
        let mut team = Team::new(2).expect("threads");
        team.install(|| {
            assert_eq!(members(SPLIT_WORK - 1), 1);
            assert_eq!(members(SPLIT_WORK), 2);
        });
        assert_eq!(members(SPLIT_WORK), 1);
    }
}
