/* SPDX-License-Identifier: Apache-2.0
 *
 * Build details of the native back-end for `m2mrsp info` (no protocol logic; no spec section):
 * the OpenSSL the extension was compiled against and runs with, and the compiler and flags.
 */
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "m2m_native.h"

#ifndef M2M_BUILD_FLAGS
#define M2M_BUILD_FLAGS "unknown"
#endif

/* The table rows are handed to numpy as TLV_TABLE_DTYPE: six packed 4-byte fields. */
typedef char m2m_tlv_row_is_24_bytes[sizeof(m2m_tlv_row) == 24 ? 1 : -1];
typedef char m2m_scp_state_is_32_bytes[sizeof(m2m_scp_state) == M2M_STATE_SIZE ? 1 : -1];

const char *m2m_openssl_build_version(void)
{
    return OPENSSL_VERSION_TEXT;
}

const char *m2m_openssl_runtime_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}

const char *m2m_build_compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
}

const char *m2m_build_flags(void)
{
    return M2M_BUILD_FLAGS;
}
