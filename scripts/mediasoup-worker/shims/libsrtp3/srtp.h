/*
 * mediasoup >= 3.14 is written against libsrtp 3 (versatica fork); Debian only
 * ships libsrtp 2.5. This header is found first for `#include <srtp.h>` and
 * supplies the libsrtp 3 calls mediasoup makes on top of the libsrtp 2 ones:
 *  - protect/unprotect take separate in/out buffers with size_t lengths,
 *    libsrtp 2 works in place with int lengths;
 *  - srtp_stream_remove() is libsrtp 2's srtp_remove_stream();
 *  - two error codes libsrtp 2's enum lacks;
 *  - (mediasoup >= 3.2x) the opaque policy object: srtp_policy_t is a handle
 *    made by srtp_policy_create() and filled by srtp_policy_set_*() /
 *    srtp_policy_add_key(), where libsrtp 2's srtp_policy_t is a plain struct.
 *    libsrtp 2's struct is renamed while its header is read, so the libsrtp 3
 *    name can be the handle; the C symbols are the same either way.
 */
#ifndef TELEMED_SRTP3_COMPAT_SRTP_H
#define TELEMED_SRTP3_COMPAT_SRTP_H

#ifdef __cplusplus
#define srtp_policy_t telemed_srtp2_policy_t
#endif
#include <srtp2/srtp.h>
#ifdef __cplusplus
#undef srtp_policy_t
#endif

#ifdef __cplusplus
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

/* Values after libsrtp 2's last code (27), so they never alias a real one. */
static constexpr srtp_err_status_t srtp_err_status_buffer_small =
  static_cast<srtp_err_status_t>(28);
static constexpr srtp_err_status_t srtp_err_status_cryptex_err =
  static_cast<srtp_err_status_t>(29);

namespace srtp3_compat
{
	using InPlaceFn = srtp_err_status_t (*)(srtp_t, void*, int*);

	/* Copy in -> out, then transform in place. `growth` is what libsrtp 2 may
	 * append without checking (it assumes the room exists), so check it here. */
	inline srtp_err_status_t Run(
	  InPlaceFn fn, srtp_t ctx, const uint8_t* in, size_t inLen, uint8_t* out, size_t* outLen,
	  size_t growth)
	{
		if (inLen > static_cast<size_t>(INT_MAX) - growth)
			return srtp_err_status_bad_param;
		if (*outLen < inLen + growth)
			return srtp_err_status_buffer_small;
		if (out != in)
			std::memmove(out, in, inLen);

		int len = static_cast<int>(inLen);
		const srtp_err_status_t err = fn(ctx, out, &len);

		if (err == srtp_err_status_ok)
			*outLen = static_cast<size_t>(len);

		return err;
	}
} // namespace srtp3_compat

/* mki_index: mediasoup never uses MKIs; libsrtp 2's non-MKI calls mean index 0. */
inline srtp_err_status_t srtp_protect(
  srtp_t ctx, const uint8_t* rtp, size_t rtpLen, uint8_t* srtp, size_t* srtpLen, size_t mkiIndex)
{
	if (mkiIndex != 0)
		return srtp_err_status_bad_mki;
	return srtp3_compat::Run(
	  static_cast<srtp3_compat::InPlaceFn>(::srtp_protect), ctx, rtp, rtpLen, srtp, srtpLen,
	  SRTP_MAX_TRAILER_LEN);
}

inline srtp_err_status_t srtp_unprotect(
  srtp_t ctx, const uint8_t* srtp, size_t srtpLen, uint8_t* rtp, size_t* rtpLen)
{
	return srtp3_compat::Run(
	  static_cast<srtp3_compat::InPlaceFn>(::srtp_unprotect), ctx, srtp, srtpLen, rtp, rtpLen, 0);
}

/* SRTCP adds a 4-byte E-flag/index word on top of the trailer. */
inline srtp_err_status_t srtp_protect_rtcp(
  srtp_t ctx, const uint8_t* rtcp, size_t rtcpLen, uint8_t* srtcp, size_t* srtcpLen, size_t mkiIndex)
{
	if (mkiIndex != 0)
		return srtp_err_status_bad_mki;
	return srtp3_compat::Run(
	  static_cast<srtp3_compat::InPlaceFn>(::srtp_protect_rtcp), ctx, rtcp, rtcpLen, srtcp, srtcpLen,
	  SRTP_MAX_TRAILER_LEN + 4);
}

inline srtp_err_status_t srtp_unprotect_rtcp(
  srtp_t ctx, const uint8_t* srtcp, size_t srtcpLen, uint8_t* rtcp, size_t* rtcpLen)
{
	return srtp3_compat::Run(
	  static_cast<srtp3_compat::InPlaceFn>(::srtp_unprotect_rtcp), ctx, srtcp, srtcpLen, rtcp, rtcpLen,
	  0);
}

inline srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
	return srtp_remove_stream(session, ssrc);
}

/* The libsrtp 3 policy handle: a libsrtp 2 policy plus room for its key. */
struct telemed_srtp3_policy
{
	telemed_srtp2_policy_t policy{};
	unsigned char key[SRTP_MAX_KEY_LEN]{};
	bool hasProfile{ false };
	bool hasKey{ false };
};
typedef telemed_srtp3_policy* srtp_policy_t;

inline srtp_err_status_t srtp_policy_create(srtp_policy_t* policy)
{
	if (policy == nullptr)
		return srtp_err_status_bad_param;
	*policy = new (std::nothrow) telemed_srtp3_policy();
	return *policy != nullptr ? srtp_err_status_ok : srtp_err_status_alloc_fail;
}

inline void srtp_policy_destroy(srtp_policy_t policy)
{
	if (policy != nullptr)
		std::memset(policy->key, 0, sizeof(policy->key));
	delete policy;
}

inline srtp_err_status_t srtp_policy_set_ssrc(srtp_policy_t policy, srtp_ssrc_t ssrc)
{
	if (policy == nullptr)
		return srtp_err_status_bad_param;
	policy->policy.ssrc = ssrc;
	return srtp_err_status_ok;
}

/* The same crypto policies mediasoup set itself before libsrtp 3; SRTCP
 * always uses the 80-bit tag (RFC 5764 4.1.2), also for *_SHA1_32. */
inline srtp_err_status_t srtp_policy_set_profile(srtp_policy_t policy, srtp_profile_t profile)
{
	if (policy == nullptr)
		return srtp_err_status_bad_param;
	srtp_crypto_policy_t* rtp  = &policy->policy.rtp;
	srtp_crypto_policy_t* rtcp = &policy->policy.rtcp;
	switch (profile)
	{
		case srtp_profile_aes128_cm_sha1_80:
			srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtp);
			srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp);
			break;
		case srtp_profile_aes128_cm_sha1_32:
			srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(rtp);
			srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp);
			break;
		case srtp_profile_aead_aes_128_gcm:
			srtp_crypto_policy_set_aes_gcm_128_16_auth(rtp);
			srtp_crypto_policy_set_aes_gcm_128_16_auth(rtcp);
			break;
		case srtp_profile_aead_aes_256_gcm:
			srtp_crypto_policy_set_aes_gcm_256_16_auth(rtp);
			srtp_crypto_policy_set_aes_gcm_256_16_auth(rtcp);
			break;
		default:
			return srtp_err_status_bad_param;
	}
	policy->hasProfile = true;
	return srtp_err_status_ok;
}

/* libsrtp 2 reads the master key and salt from one buffer, key then salt.
 * One key without MKI is all mediasoup uses. */
inline srtp_err_status_t srtp_policy_add_key(
  srtp_policy_t policy,
  const uint8_t* key,
  size_t keyLen,
  const uint8_t* salt,
  size_t saltLen,
  const uint8_t* mki,
  size_t mkiLen)
{
	if (policy == nullptr || key == nullptr || salt == nullptr || policy->hasKey)
		return srtp_err_status_bad_param;
	if (mki != nullptr || mkiLen != 0)
		return srtp_err_status_bad_mki;
	if (keyLen + saltLen > sizeof(policy->key))
		return srtp_err_status_bad_param;
	std::memcpy(policy->key, key, keyLen);
	std::memcpy(policy->key + keyLen, salt, saltLen);
	policy->policy.key = policy->key;
	policy->hasKey     = true;
	return srtp_err_status_ok;
}

inline srtp_err_status_t srtp_policy_set_window_size(srtp_policy_t policy, size_t windowSize)
{
	if (policy == nullptr)
		return srtp_err_status_bad_param;
	policy->policy.window_size = static_cast<unsigned long>(windowSize);
	return srtp_err_status_ok;
}

inline srtp_err_status_t srtp_policy_set_allow_repeat_tx(srtp_policy_t policy, bool allow)
{
	if (policy == nullptr)
		return srtp_err_status_bad_param;
	policy->policy.allow_repeat_tx = allow ? 1 : 0;
	return srtp_err_status_ok;
}

/* srtp_create() copies the key material: the handle may be destroyed after. */
inline srtp_err_status_t srtp_create(srtp_t* session, srtp_policy_t policy)
{
	if (policy == nullptr || !policy->hasProfile || !policy->hasKey)
		return srtp_err_status_bad_param;
	return ::srtp_create(session, &policy->policy);
}
#endif /* __cplusplus */

#endif /* TELEMED_SRTP3_COMPAT_SRTP_H */
