fn main() {
    std::process::exit(npmsweep::cli::main());
}
