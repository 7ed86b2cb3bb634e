// The Catch2 main, compiled once (kept out of the tests/*.cpp glob so every test file stays a plain TU).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
