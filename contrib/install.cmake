# Run by `cmake --install` (install(SCRIPT) in CMakeLists.txt): the files
# whose contents name installed paths, written for the prefix of this
# install rather than the one the build was configured with.
#   PREFIX/lib/systemd/system/sipd.service   ExecStart=PREFIX/sbin/sipd -c CONFDIR/sipd.conf
#   LIBDIR/pkgconfig/sip.pc
#   CONFDIR/sipd.conf   only when there is none: an operator's file is kept
# CONFDIR is /etc/sipd for the prefix /usr, PREFIX/etc/sipd otherwise.
set(PREFIX "${CMAKE_INSTALL_PREFIX}")
if(PREFIX STREQUAL "/usr")
	set(CONFDIR "/etc/sipd")
else()
	set(CONFDIR "${PREFIX}/etc/sipd")
endif()
set(SBINDIR "${PREFIX}/${SIPD_SBINDIR}")
set(LIBDIR "${SIPD_LIBDIR}")
set(INCLUDEDIR "${SIPD_INCLUDEDIR}")
set(VERSION "0.1.0")
set(out "${SIPD_BINARY_DIR}/install-generated")

configure_file("${SIPD_SOURCE_DIR}/contrib/sipd.service.in" "${out}/sipd.service" @ONLY)
configure_file("${SIPD_SOURCE_DIR}/contrib/sip.pc.in" "${out}/sip.pc" @ONLY)
file(INSTALL "${out}/sipd.service" DESTINATION "${PREFIX}/lib/systemd/system")
file(INSTALL "${out}/sip.pc" DESTINATION "${PREFIX}/${LIBDIR}/pkgconfig")
if(EXISTS "$ENV{DESTDIR}${CONFDIR}/sipd.conf")
	message(STATUS "Kept: $ENV{DESTDIR}${CONFDIR}/sipd.conf (the example is in the doc dir)")
else()
	file(INSTALL "${SIPD_SOURCE_DIR}/etc/sipd.conf" DESTINATION "${CONFDIR}")
endif()
