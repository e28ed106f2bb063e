/* The Python face of a translated module, included last by the glue file: an instance lives
 * in a bytearray the engine owns (MicroPython's collector scans it, so the linked callables
 * and the memory it points to stay alive with it). */

static aot_instance_t *aot_instance(mp_obj_t buffer) {
    mp_buffer_info_t info;
    mp_get_buffer_raise(buffer, &info, MP_BUFFER_RW);
    if (info.len < sizeof(aot_instance_t)) {
        mp_raise_ValueError(MP_ERROR_TEXT("instance buffer too small"));
    }
    return (aot_instance_t *)info.buf;
}

static mp_obj_t aot_size(void) {
    return mp_obj_new_int(sizeof(aot_instance_t));
}
static MP_DEFINE_CONST_FUN_OBJ_0(aot_size_obj, aot_size);

/* The stack check's starting point for an entry into the guest: see aotrt.c */
static void aot_enter(aot_instance_t *inst) {
    char here;
    aot_stack_floor = &here - inst->stack_bytes;
    aot_stack_approved = &here;
    aot_stack_probe = inst->stack_probe;
    wasm_rt_call_stack_depth = 0;
}

/* instantiate(buffer, imports, memory_pages, stack_bytes): links, caps memory, runs the data
 * and element segments */
static mp_obj_t aot_instantiate(size_t n_args, const mp_obj_t *args) {
    aot_instance_t *inst = aot_instance(args[0]);
    size_t count;
    mp_obj_t *imports;
    mp_obj_get_array(args[1], &count, &imports);
    for (size_t i = 0; i < count && i < sizeof(inst->imports) / sizeof(mp_obj_t); i++) {
        inst->imports[i] = imports[i];
    }
    aot_max_pages = mp_obj_get_int(args[2]);
    inst->stack_bytes = mp_obj_get_int(args[3]);
    inst->stack_probe = mp_fun_table.getiter(mp_const_empty_tuple, NULL);
    aot_enter(inst);
    AOT_INSTANTIATE(inst);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(aot_instantiate_obj, 4, 4, aot_instantiate);

/* call(buffer, export_index, *args): one entry into the guest */
static mp_obj_t aot_call(size_t n_args, const mp_obj_t *args) {
    aot_instance_t *inst = aot_instance(args[0]);
    aot_enter(inst);
    return aot_export(inst, mp_obj_get_int(args[1]), args + 2);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(aot_call_obj, 2, 12, aot_call);

static mp_obj_t aot_memory(mp_obj_t buffer) {
    wasm_rt_memory_t *memory = AOT_MEMORY(aot_instance(buffer));
    return mp_obj_new_bytearray_by_ref(memory->size, memory->data);
}
static MP_DEFINE_CONST_FUN_OBJ_1(aot_memory_obj, aot_memory);

static mp_obj_t aot_free(mp_obj_t buffer) {
    AOT_FREE(aot_instance(buffer));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(aot_free_obj, aot_free);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_instance_size, MP_OBJ_FROM_PTR(&aot_size_obj));
    mp_store_global(MP_QSTR_instantiate, MP_OBJ_FROM_PTR(&aot_instantiate_obj));
    mp_store_global(MP_QSTR_call, MP_OBJ_FROM_PTR(&aot_call_obj));
    mp_store_global(MP_QSTR_memory, MP_OBJ_FROM_PTR(&aot_memory_obj));
    mp_store_global(MP_QSTR_free, MP_OBJ_FROM_PTR(&aot_free_obj));
    aot_exchange_init();
    /* "module.name" of each import and the name of each export, a line each, in the order
     * instantiate and call index them */
    mp_store_global(MP_QSTR_imports, mp_obj_new_str(AOT_IMPORTS, sizeof(AOT_IMPORTS) - 1));
    mp_store_global(MP_QSTR_exports, mp_obj_new_str(AOT_EXPORTS, sizeof(AOT_EXPORTS) - 1));
    /* the imports the exchange serves in C, linked to the exchange object */
    mp_store_global(MP_QSTR_served, mp_obj_new_str(AOT_SERVED, sizeof(AOT_SERVED) - 1));
    mp_store_global(MP_QSTR_module_sha256,
        mp_obj_new_str(AOT_MODULE_SHA256, sizeof(AOT_MODULE_SHA256) - 1));
    MP_DYNRUNTIME_INIT_EXIT
}
