# cmake -DLINKS=build/module_links.txt -P check_links.cmake
# Each third-party library enters through one module (README "What is here", docs STYLE): reads
# what every module target links (written at configure time by the top CMakeLists.txt, one
# "target: lib;lib;..." a line) and fails naming each module that links a library it may not.
file(STRINGS "${LINKS}" lines)
set(owners
  "CURL::libcurl=jitsuin_net"
  "PkgConfig::LIBP11=jitsuin_hsm"
  "PkgConfig::P11KIT=jitsuin_hsm"
  "PkgConfig::SQLITE3=jitsuin_db"
  "PkgConfig::QPDF=jitsuin_contract")
set(bad "")
foreach(line IN LISTS lines)
  string(REGEX MATCH "^([^:]+): (.*)$" _ "${line}")
  set(target "${CMAKE_MATCH_1}")
  set(libs "${CMAKE_MATCH_2}")
  foreach(rule IN LISTS owners)
    string(REPLACE "=" ";" rule "${rule}")
    list(GET rule 0 lib)
    list(GET rule 1 owner)
    if(NOT target STREQUAL owner AND "${libs}" MATCHES "(^|;)${lib}(;|$)")
      string(APPEND bad "  ${target} links ${lib}, which enters through ${owner} only\n")
    endif()
  endforeach()
endforeach()
list(LENGTH lines n)
if(n LESS 10)
  message(FATAL_ERROR "module links: ${LINKS} lists ${n} targets, expected every module")
endif()
if(bad)
  message(FATAL_ERROR "module links:\n${bad}")
endif()
message(STATUS "module links: OK (${n} targets)")
