//! Keeping the daemon's resident memory small (it runs on every storage server, beside the
//! bricks; GD1 needs about 22 MiB).
//!
//! glibc's allocator gives each thread that allocates an arena of its own, and keeps the
//! pages that start-up freed (the API document built and serialised, the option tables read
//! from the helper's output) in the middle of the heap, where it does not give them back.
//! The daemon's threads are few and its allocations small, so two arenas serve it as well,
//! and a trim once start-up is over (then once a minute, for what operations freed) returns
//! those pages. Other C libraries: nothing to do.

/// Before the runtime starts its threads: at most two arenas.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Returns the free pages of every arena to the system.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes the allocator's own locks; safe from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
