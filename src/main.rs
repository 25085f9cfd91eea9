//! The `evidex` binary: argument parsing and wiring only; the work is in the
//! library.

mod cli;

/// mimalloc: much faster than glibc's allocator for the many small
/// allocations of ingest and scoring (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Large OS pages (transparent huge pages where the kernel allows them) cut
/// the page-fault time of building millions of records about threefold
/// (docs/performance.md). mimalloc reads options when it initialises, at the
/// first allocation, so they are set from `.init_array`, before Rust's
/// runtime allocates anything (nothing here may allocate).
extern "C" fn allocator_options() {
    // SAFETY: a plain option setter of the linked allocator, called once
    // while the process is single-threaded.
    unsafe { libmimalloc_sys::mi_option_set(libmimalloc_sys::mi_option_large_os_pages, 1) };
}

#[used]
#[cfg_attr(target_os = "linux", link_section = ".init_array")]
static ALLOCATOR_OPTIONS: extern "C" fn() = allocator_options;

fn main() {
    std::process::exit(cli::run());
}
