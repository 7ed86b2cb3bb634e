// Prints the OpenBLAS kernel set ("core") this process runs with, as OpenBLAS names it (Haswell, SkylakeX, Zen, ...):
// scripts/test.sh asks it which kernel the first test pass used, then runs the numerical groups again under another.
#include <cblas.h>

#include <cstdio>

int main() {
  std::printf("%s\n", openblas_get_corename());
  return 0;
}
