/*
 * mediasoup >= 3.14 is written against libsrtp 3 (versatica fork); Debian only
 * ships libsrtp 2.5. This header is found first for `#include <srtp.h>` and
 * supplies the libsrtp 3 calls mediasoup makes on top of the libsrtp 2 ones:
 *  - protect/unprotect take separate in/out buffers with size_t lengths,
 *    libsrtp 2 works in place with int lengths;
 *  - srtp_stream_remove() is libsrtp 2's srtp_remove_stream();
 *  - two error codes libsrtp 2's enum lacks.
 */
#ifndef TELEMED_SRTP3_COMPAT_SRTP_H
#define TELEMED_SRTP3_COMPAT_SRTP_H

#include <srtp2/srtp.h>

#ifdef __cplusplus
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>

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
#endif /* __cplusplus */

#endif /* TELEMED_SRTP3_COMPAT_SRTP_H */
