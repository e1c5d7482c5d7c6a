# ctest sdk-pass-plugin: installs Sinter into a fresh prefix, builds the
# out-of-tree example plugin (examples/pass-plugin) against it and runs the
# plugin's lit tests with the installed tools — what a user of the SDK does.
#   cmake -DBUILD=<sinter build> -DSOURCE=<examples/pass-plugin> -DWORK=<dir>
#         -DC=<cc> -DCXX=<c++> -P check_pass_plugin.cmake
file(REMOVE_RECURSE ${WORK})

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "sdk-pass-plugin: ${what} failed (${rc})")
  endif()
endfunction()

run("install" ${CMAKE_COMMAND} --install ${BUILD} --prefix ${WORK}/prefix)
run("configure" ${CMAKE_COMMAND} -G Ninja -S ${SOURCE} -B ${WORK}/build
    -DSinter_DIR=${WORK}/prefix/lib/cmake/Sinter -DCMAKE_C_COMPILER=${C} -DCMAKE_CXX_COMPILER=${CXX})
run("build and check" ${CMAKE_COMMAND} --build ${WORK}/build --target check)
