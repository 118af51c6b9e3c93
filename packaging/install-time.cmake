# Runs during installation (cmake --install, cpack), not at configure time: the files installed
# here name absolute paths, and the prefix is only final now (`cmake --install --prefix P`
# and cpack's /usr both differ from the prefix the build was configured with).
# Set by packaging/CMakeLists.txt before this runs: REGULARS_PACKAGING_SOURCE_DIR,
# REGULARS_PACKAGING_STAGE_DIR, PROJECT_VERSION, PROJECT_DESCRIPTION and the relative
# GNUInstallDirs values REGULARS_BINDIR, REGULARS_LIBDIR, REGULARS_INCLUDEDIR, REGULARS_SYSCONFDIR.
# file(INSTALL) honours DESTDIR and records the files in install_manifest.txt.

function(regulars_full_path out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

string(REGEX REPLACE "/+$" "" _regulars_prefix "${CMAKE_INSTALL_PREFIX}")
regulars_full_path(CMAKE_INSTALL_FULL_BINDIR "${REGULARS_BINDIR}")
regulars_full_path(_regulars_full_libdir "${REGULARS_LIBDIR}")
regulars_full_path(_regulars_full_includedir "${REGULARS_INCLUDEDIR}")
# As GNUInstallDirs does: the system prefixes keep their configuration in /etc, not /usr/etc.
if(_regulars_prefix STREQUAL "" OR _regulars_prefix STREQUAL "/usr")
  set(REGULARS_FULL_CONFDIR "/etc/regulars")
else()
  regulars_full_path(_regulars_sysconfdir "${REGULARS_SYSCONFDIR}")
  set(REGULARS_FULL_CONFDIR "${_regulars_sysconfdir}/regulars")
endif()

# pkg-config: libdir and includedir relative to ${prefix} where they lie under it.
set(REGULARS_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
if(IS_ABSOLUTE "${REGULARS_LIBDIR}")
  set(REGULARS_PC_LIBDIR "${REGULARS_LIBDIR}")
else()
  set(REGULARS_PC_LIBDIR "\${prefix}/${REGULARS_LIBDIR}")
endif()
if(IS_ABSOLUTE "${REGULARS_INCLUDEDIR}")
  set(REGULARS_PC_INCLUDEDIR "${REGULARS_INCLUDEDIR}")
else()
  set(REGULARS_PC_INCLUDEDIR "\${prefix}/${REGULARS_INCLUDEDIR}")
endif()

configure_file("${REGULARS_PACKAGING_SOURCE_DIR}/regulars.pc.in" "${REGULARS_PACKAGING_STAGE_DIR}/regulars.pc" @ONLY)
configure_file("${REGULARS_PACKAGING_SOURCE_DIR}/regularsd.service.in" "${REGULARS_PACKAGING_STAGE_DIR}/regularsd.service"
               @ONLY)

file(INSTALL DESTINATION "${_regulars_full_libdir}/pkgconfig" TYPE FILE
     FILES "${REGULARS_PACKAGING_STAGE_DIR}/regulars.pc")
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
     FILES "${REGULARS_PACKAGING_STAGE_DIR}/regularsd.service")
file(INSTALL DESTINATION "${REGULARS_FULL_CONFDIR}" TYPE FILE
     FILES "${REGULARS_PACKAGING_SOURCE_DIR}/regularsd.conf")
