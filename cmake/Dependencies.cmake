# Third-party libraries, all from Debian packages (scripts/install-deps.sh).
find_package(OpenMP REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(fmt REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
# cpp-httplib (serve): Debian ships it as a library with pkg-config only (no CMake config).
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)

# OpenBLAS: prefer the OpenMP build, so a GEMM called inside our own OpenMP regions runs on the calling thread
# instead of spawning a second pool that fights ours for the cores.
find_library(SUPRA_OPENBLAS NAMES openblas
             PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp NO_DEFAULT_PATH)
if(NOT SUPRA_OPENBLAS)
  find_library(SUPRA_OPENBLAS NAMES openblas REQUIRED)
  message(WARNING "OpenBLAS OpenMP build not found; using ${SUPRA_OPENBLAS}")
endif()
find_path(SUPRA_CBLAS_INCLUDE cblas.h
          HINTS /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp
          PATH_SUFFIXES openblas REQUIRED)
add_library(supra_blas INTERFACE)
target_link_libraries(supra_blas INTERFACE ${SUPRA_OPENBLAS} OpenMP::OpenMP_CXX)
target_include_directories(supra_blas INTERFACE ${SUPRA_CBLAS_INCLUDE})
message(STATUS "BLAS: ${SUPRA_OPENBLAS}")

# oneDNN (libdnnl-dev): the CPU backend's matmuls, weights reordered once into its preferred layout. It picks its
# own instruction set at run time (AVX2, AVX-512, AVX-512 BF16), so one binary runs well on any x86-64.
find_package(dnnl CONFIG REQUIRED)
target_link_libraries(supra_blas INTERFACE DNNL::dnnl)

add_library(supra_deps INTERFACE)
target_link_libraries(supra_deps INTERFACE nlohmann_json::nlohmann_json fmt::fmt SQLite::SQLite3
                      PkgConfig::SENTENCEPIECE OpenMP::OpenMP_CXX)
target_link_libraries(supra_deps INTERFACE CLI11::CLI11)
