# regulars.dll: the same plugin for Windows tills, cross-compiled with MinGW-w64
# (packaging/windows/). Winsock, Schannel, CNG and Win32 files stand in for the POSIX sockets,
# OpenSSL and POSIX files (plugin/platform/). libstdc++, libgcc and winpthread are linked in
# statically, so the DLL needs only DLLs every Windows has; it exports only the regulars_*
# functions (regulars.def), and comes with an import library for MinGW (libregulars.dll.a) and
# one for MSVC (regulars.lib).
add_library(regulars_plugin_core STATIC
  client.cpp connection.cpp options.cpp spool.cpp spool_writer.cpp
  platform/socket_win.cpp platform/files_win.cpp platform/tls_schannel.cpp platform/cert_signature_win.cpp platform/seal_cng.cpp)
target_include_directories(regulars_plugin_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(regulars_plugin_core
  PUBLIC regulars_wire regulars_headers Threads::Threads ws2_32 secur32 crypt32 bcrypt advapi32
  PRIVATE regulars_flags)
# Windows 8's API at least (GetFileInformationByHandleEx, SetFileInformationByHandle...).
target_compile_definitions(regulars_plugin_core PUBLIC REGULARS_BUILDING_LIBRARY _WIN32_WINNT=0x0602 WIN32_LEAN_AND_MEAN NOMINMAX)

add_library(regulars SHARED c_api.cpp ${CMAKE_CURRENT_SOURCE_DIR}/regulars.def)
target_link_libraries(regulars PRIVATE regulars_plugin_core regulars_flags regulars_wire regulars_headers)
target_compile_definitions(regulars PRIVATE REGULARS_BUILDING_LIBRARY)
set_target_properties(regulars PROPERTIES PREFIX "" OUTPUT_NAME regulars IMPORT_PREFIX "lib" IMPORT_SUFFIX ".dll.a")
target_link_options(regulars PRIVATE -static -static-libgcc -static-libstdc++ -Wl,--no-undefined)
target_include_directories(regulars PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/sdk/include>)
add_library(Regulars::regulars ALIAS regulars)

# The import library an MSVC linker takes.
find_program(REGULARS_DLLTOOL NAMES ${REGULARS_MINGW_PREFIX}-dlltool dlltool REQUIRED)
add_custom_command(TARGET regulars POST_BUILD
  COMMAND ${REGULARS_DLLTOOL} -d ${CMAKE_CURRENT_SOURCE_DIR}/regulars.def -D regulars.dll -l $<TARGET_FILE_DIR:regulars>/regulars.lib
  COMMENT "regulars.lib for MSVC")
