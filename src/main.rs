/// mimalloc instead of glibc's malloc: a response is built from many small, short-lived
/// allocations made on one thread and freed on another, where glibc spent about a fifth of
/// the server's time (`malloc_consolidate`, arena locks; BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    aura::cli::main()
}
