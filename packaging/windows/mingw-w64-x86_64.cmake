# Cross-compiling regulars.dll for 64-bit Windows with Debian's MinGW-w64 (g++-mingw-w64-x86-64-posix):
#   cmake -S . -B build-win64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=packaging/windows/mingw-w64-x86_64.cmake
# The posix thread model gives std::thread and std::mutex (winpthread, linked in statically).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(REGULARS_MINGW_PREFIX x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${REGULARS_MINGW_PREFIX}-gcc-posix)
set(CMAKE_CXX_COMPILER ${REGULARS_MINGW_PREFIX}-g++-posix)
set(CMAKE_RC_COMPILER ${REGULARS_MINGW_PREFIX}-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${REGULARS_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
