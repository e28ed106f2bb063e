/* crunch: a CPU-bound kernel in the manner of CoreMark (list walking and sorting, a small
 * matrix product, a state machine over text, a CRC over the results), for comparing engines.
 *
 * Crunch takes the number of rounds (4 bytes little-endian) and answers the CRC-16 of every
 * round's results (2 bytes little-endian): the same answer on every engine, or the engine is
 * wrong. */
#include "wapc.h"

#define ITEMS 64
#define SIDE 8

static uint16_t crc16(uint16_t crc, uint32_t value) {
    for (int bit = 0; bit < 32; bit++) {
        uint16_t mix = (uint16_t)((crc ^ (value >> bit)) & 1);
        crc >>= 1;
        if (mix) crc ^= 0xA001;
    }
    return crc;
}

struct item {
    int32_t value;
    struct item *next;
};

static struct item items[ITEMS];

static struct item *sorted(struct item *list) {
    /* insertion sort of a linked list */
    struct item *out = 0;
    while (list) {
        struct item *next = list->next, **at = &out;
        while (*at && (*at)->value < list->value) at = &(*at)->next;
        list->next = *at;
        *at = list;
        list = next;
    }
    return out;
}

static uint32_t list_round(uint32_t seed) {
    struct item *list = 0;
    for (int i = 0; i < ITEMS; i++) {
        seed = seed * 1103515245u + 12345u;
        items[i].value = (int32_t)(seed >> 8) % 1000;
        items[i].next = list;
        list = &items[i];
    }
    uint32_t sum = 0;
    int position = 0;
    for (list = sorted(list); list; list = list->next) sum += (uint32_t)list->value * ++position;
    return sum;
}

static int32_t a[SIDE][SIDE], b[SIDE][SIDE], c[SIDE][SIDE];

static uint32_t matrix_round(uint32_t seed) {
    for (int i = 0; i < SIDE; i++)
        for (int j = 0; j < SIDE; j++) {
            a[i][j] = (int32_t)((seed + i * 7 + j) % 17) - 8;
            b[i][j] = (int32_t)((seed + i + j * 5) % 13) - 6;
        }
    uint32_t sum = 0;
    for (int i = 0; i < SIDE; i++)
        for (int j = 0; j < SIDE; j++) {
            int32_t total = 0;
            for (int k = 0; k < SIDE; k++) total += a[i][k] * b[k][j];
            c[i][j] = total;
            sum = sum * 31 + (uint32_t)total;
        }
    return sum;
}

static const char text[] = "5012 +7.25e3 -0.5 x17 42 1e- 3.14159 -12 ++ 0x7f 88";

static uint32_t state_round(uint32_t seed) {
    /* counts what a number scanner finds: integers, decimals, exponents, invalid tokens */
    uint32_t counts[4] = {0, 0, 0, 0};
    int state = 0;
    for (uint32_t i = 0; i < sizeof(text); i++) {
        char ch = text[(i + seed) % sizeof(text)];
        int digit = ch >= '0' && ch <= '9';
        if (ch == ' ' || ch == 0) {
            if (state) counts[state - 1]++;
            state = 0;
        } else if (state == 0) {
            state = digit || ch == '+' || ch == '-' ? 1 : 4;
        } else if (state == 1) {
            state = digit ? 1 : ch == '.' ? 2 : ch == 'e' ? 3 : 4;
        } else if (state == 2) {
            state = digit ? 2 : ch == 'e' ? 3 : 4;
        } else if (state == 3) {
            state = digit || ch == '-' ? 3 : 4;
        }
    }
    return counts[0] | counts[1] << 8 | counts[2] << 16 | counts[3] << 24;
}

static int crunch(const uint8_t *msg, uint32_t len) {
    if (len != 4) return wapc_fail("Crunch wants the number of rounds, 4 bytes little-endian");
    uint32_t rounds = msg[0] | msg[1] << 8 | msg[2] << 16 | (uint32_t)msg[3] << 24;
    uint16_t crc = 0;
    for (uint32_t round = 0; round < rounds; round++) {
        crc = crc16(crc, list_round(round));
        crc = crc16(crc, matrix_round(round));
        crc = crc16(crc, state_round(round));
    }
    uint8_t answer[2] = {(uint8_t)crc, (uint8_t)(crc >> 8)};
    return wapc_respond(answer, 2);
}

static const struct wapc_operation operations[] = {
    {"Crunch", crunch},
    {"HealthRequest", wapc_healthy},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
