# CUDA is optional: AUTO builds the CUDA backend when nvcc is found, OFF never does, ON requires it.
set(SUPRA_HAVE_CUDA OFF)
if(NOT SUPRA_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # The supported GPUs' architectures as SASS (engine/cuda/kernel_smem.h kArchs names the GPUs and their shared
    # memory; tests/cuda/test_kernel_smem.cpp holds this line to that table), plus PTX of the newest, which the
    # driver compiles for newer GPUs. One architecture only (a faster build): -DCMAKE_CUDA_ARCHITECTURES=86-real,
    # or "native" for the build machine's GPU.
    set(SUPRA_CUDA_DEFAULT_ARCHITECTURES 80-real 86-real 89-real 90-real 90-virtual)
    if(NOT CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES ${SUPRA_CUDA_DEFAULT_ARCHITECTURES})
    endif()
    enable_language(CUDA)
    # CMake 3.25 knows no C++20 flag for nvcc; the kernels need C++17 only.
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    set(SUPRA_HAVE_CUDA ON)
    message(STATUS "CUDA backend: ON (${CMAKE_CUDA_COMPILER}, architectures ${CMAKE_CUDA_ARCHITECTURES})")
  elseif(SUPRA_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SUPRA_CUDA=ON but no CUDA compiler was found")
  else()
    message(STATUS "CUDA backend: OFF (nvcc not found)")
  endif()
else()
  message(STATUS "CUDA backend: OFF (SUPRA_CUDA=OFF)")
endif()
