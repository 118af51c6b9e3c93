# The Windows build (a MinGW-w64 toolchain file from this folder): regulars.dll, its Windows
# tests and the zip for Windows integrators; nothing of the daemon, which runs on Linux.
find_package(Threads REQUIRED)

# nlohmann/json is header-only: Debian's copy, seen through a folder that holds only it, so the
# cross compiler never reads glibc's headers from /usr/include.
find_path(REGULARS_NLOHMANN_DIR nlohmann/json.hpp PATHS /usr/include NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH REQUIRED)
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/third_party)
file(CREATE_LINK ${REGULARS_NLOHMANN_DIR}/nlohmann ${CMAKE_BINARY_DIR}/third_party/nlohmann SYMBOLIC)
add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
set_target_properties(nlohmann_json::nlohmann_json PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${CMAKE_BINARY_DIR}/third_party)

add_subdirectory(sdk)
add_subdirectory(plugin)
if(REGULARS_BUILD_TESTS)
  add_subdirectory(tests/windows)
endif()
