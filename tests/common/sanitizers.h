#pragma once
// Whether this test binary runs under AddressSanitizer (scripts/sanitize.sh): its shadow memory and quarantine add
// hundreds of MiB of resident memory of their own, so tests that measure the process's peak memory skip themselves.
#if defined(__SANITIZE_ADDRESS__)
#define SUPRA_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SUPRA_UNDER_ASAN 1
#endif
#endif

namespace supra::test {
#ifdef SUPRA_UNDER_ASAN
inline constexpr bool kUnderAsan = true;
#else
inline constexpr bool kUnderAsan = false;
#endif
}  // namespace supra::test
