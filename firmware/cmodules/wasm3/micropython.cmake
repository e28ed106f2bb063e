# wasm3 as the MicroPython module `wasm3`, for the ESP32 port (ESP-IDF, cmake).
#
#   idf.py -D USER_C_MODULES=<repo>/firmware/cmodules/wasm3/micropython.cmake \
#          -D WASM3_DIR=<wasm3 checkout> build
#
# The ESP32's MicroPython task has a small stack: the binding takes the guest's native-stack
# floor from MicroPython's own limit, keeping EDGEHOST_WASM3_STACK_RESERVE bytes for host calls.
if(NOT WASM3_DIR)
    message(FATAL_ERROR "wasm3 module: set WASM3_DIR to a wasm3 source tree")
endif()

add_library(usermod_wasm3 INTERFACE)

set(WASM3_VM_SOURCES)
foreach(part bind code compile core env exec function info module parse validate)
    list(APPEND WASM3_VM_SOURCES ${CMAKE_CURRENT_LIST_DIR}/vm/vm_${part}.c)
endforeach()

target_sources(usermod_wasm3 INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}/modwasm3.c
    ${WASM3_VM_SOURCES}
)

target_include_directories(usermod_wasm3 INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}
    ${WASM3_DIR}/source
)

target_compile_definitions(usermod_wasm3 INTERFACE
    EDGEHOST_WASM3_STACK_RESERVE=2048
)

target_link_libraries(usermod INTERFACE usermod_wasm3)
