# wasm3 as the MicroPython module `wasm3`, for make-based ports (unix, ...).
#
#   make -C ports/unix USER_C_MODULES=<repo>/firmware/cmodules WASM3_DIR=<wasm3 checkout>
#
# WASM3_DIR is a wasm3 source tree at the pinned commit (tools/edgecli/mpbuild.py unpacks one
# into build/); its sources compile through vm/, which adds the board's settings.
WASM3_MOD_DIR := $(USERMOD_DIR)

ifeq ($(WASM3_DIR),)
$(error wasm3 module: set WASM3_DIR to a wasm3 source tree)
endif

SRC_USERMOD_C += $(WASM3_MOD_DIR)/modwasm3.c
SRC_USERMOD_LIB_C += $(addprefix $(WASM3_MOD_DIR)/vm/vm_,\
	bind.c code.c compile.c core.c env.c exec.c function.c info.c module.c parse.c validate.c)

CFLAGS_USERMOD += -I$(WASM3_MOD_DIR) -I$(WASM3_DIR)/source
