/* no_guest_call: imports the waPC host functions but exports no __guest_call, so a host has
 * nothing to call; it must be refused before it runs. */
#include "wapc.h"

__attribute__((export_name("handle"))) int32_t handle(uint32_t op_len, uint32_t msg_len) {
    return wapc_respond(&op_len, op_len + msg_len);
}
