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

# The smallest integration (sdk/examples/minimal.c), linked against the import library: what
# the zip shows Windows integrators, run by the tests under Wine.
add_executable(minimal ${PROJECT_SOURCE_DIR}/sdk/examples/minimal.c)
target_link_libraries(minimal PRIVATE regulars regulars_flags)
target_link_options(minimal PRIVATE -static)
set_target_properties(minimal PROPERTIES C_STANDARD 99 RUNTIME_OUTPUT_DIRECTORY $<TARGET_FILE_DIR:regulars>)

# regulars-<version>-win64.zip (win32 for the 32-bit build): what a Windows integrator needs.
if(CMAKE_SIZEOF_VOID_P EQUAL 8)
  set(REGULARS_WINDOWS_FLAVOUR win64)
else()
  set(REGULARS_WINDOWS_FLAVOUR win32)
endif()
set(zip_name regulars-${PROJECT_VERSION}-${REGULARS_WINDOWS_FLAVOUR})
set(stage ${CMAKE_BINARY_DIR}/${zip_name})
file(GLOB csharp_sources ${PROJECT_SOURCE_DIR}/sdk/csharp/src/*.cs)
configure_file(${PROJECT_SOURCE_DIR}/sdk/csharp/src/Properties.cs.in ${CMAKE_BINARY_DIR}/csharp/Properties.cs @ONLY)
list(APPEND csharp_sources ${CMAKE_BINARY_DIR}/csharp/Properties.cs)
find_program(REGULARS_STRIP NAMES ${REGULARS_MINGW_PREFIX}-strip REQUIRED)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/${zip_name}.zip
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${stage}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${stage}/lib ${stage}/include/regulars ${stage}/examples ${stage}/csharp
  COMMAND ${REGULARS_STRIP} -o ${stage}/regulars.dll $<TARGET_FILE:regulars>
  COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE_DIR:regulars>/regulars.lib $<TARGET_LINKER_FILE:regulars>
          ${PROJECT_SOURCE_DIR}/plugin/regulars.def ${stage}/lib/
  COMMAND ${CMAKE_COMMAND} -E copy ${PROJECT_SOURCE_DIR}/sdk/include/regulars/regulars.h ${stage}/include/regulars/
  COMMAND ${CMAKE_COMMAND} -E copy ${PROJECT_SOURCE_DIR}/sdk/examples/minimal.c ${stage}/examples/
  COMMAND ${CMAKE_COMMAND} -E copy ${csharp_sources} ${stage}/csharp/
  COMMAND ${CMAKE_COMMAND} -E copy ${PROJECT_SOURCE_DIR}/packaging/windows/README.md ${stage}/README.md
  COMMAND ${CMAKE_COMMAND} -E tar cf ${CMAKE_BINARY_DIR}/${zip_name}.zip --format=zip -- ${zip_name}
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
  DEPENDS regulars ${PROJECT_SOURCE_DIR}/packaging/windows/README.md ${PROJECT_SOURCE_DIR}/sdk/examples/minimal.c
          ${PROJECT_SOURCE_DIR}/sdk/include/regulars/regulars.h ${csharp_sources}
  COMMENT "${zip_name}.zip")
add_custom_target(windows_zip ALL DEPENDS ${CMAKE_BINARY_DIR}/${zip_name}.zip)
