/*
 * Stand-in for ankerl::unordered_dense (github.com/martinus/unordered_dense),
 * which mediasoup >= 3.2x uses and Debian bookworm does not package.
 *
 * What the worker uses (checked by grepping its sources): `map<K, V[, Hash]>`,
 * `set<K>` with the ordinary unordered-container members (find, count,
 * contains, at, [], emplace, try_emplace, insert, erase(key|iterator), size,
 * empty, clear, reserve, iteration), and `hash<T>{}(value)` for integers,
 * enums and pointers, combined into its own hashers. No `values()`,
 * `extract()`, `replace()`, segmented containers or heterogeneous lookup.
 *
 * The std containers are a semantic superset of what the worker relies on:
 * their iterators and references stay valid where unordered_dense's may not,
 * and neither promises an iteration order. `hash<T>` for integral, enum and
 * pointer types is unordered_dense's own (wyhash's mix of the value with a
 * constant); other types use std::hash.
 */
#ifndef TELEMED_ANKERL_UNORDERED_DENSE_SHIM_H
#define TELEMED_ANKERL_UNORDERED_DENSE_SHIM_H

#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace ankerl
{
	namespace unordered_dense
	{
		namespace detail
		{
			inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept
			{
#if defined(__SIZEOF_INT128__)
				const __uint128_t r = static_cast<__uint128_t>(a) * b;
				return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64U);
#else
				// Portable 64x64 -> 128 multiply.
				const std::uint64_t ha = a >> 32U, hb = b >> 32U, la = a & 0xFFFFFFFFU, lb = b & 0xFFFFFFFFU;
				const std::uint64_t rhi = ha * hb, rm0 = ha * lb, rm1 = hb * la, rlo = la * lb;
				const std::uint64_t t  = rlo + (rm0 << 32U);
				std::uint64_t c        = t < rlo ? 1 : 0;
				const std::uint64_t lo = t + (rm1 << 32U);
				c += lo < t ? 1 : 0;
				const std::uint64_t hi = rhi + (rm0 >> 32U) + (rm1 >> 32U) + c;
				return lo ^ hi;
#endif
			}

			inline std::uint64_t hash_u64(std::uint64_t x) noexcept
			{
				return mix(x, UINT64_C(0x9E3779B97F4A7C15));
			}
		} // namespace detail

		template<typename T, typename Enable = void>
		struct hash
		{
			auto operator()(const T& obj) const noexcept(noexcept(std::hash<T>{}(obj))) -> std::uint64_t
			{
				return std::hash<T>{}(obj);
			}
		};

		template<typename T>
		struct hash<T, typename std::enable_if<std::is_integral<T>::value || std::is_enum<T>::value>::type>
		{
			using is_avalanching = void;

			auto operator()(const T& obj) const noexcept -> std::uint64_t
			{
				return detail::hash_u64(static_cast<std::uint64_t>(obj));
			}
		};

		template<typename T>
		struct hash<T*>
		{
			using is_avalanching = void;

			auto operator()(T* ptr) const noexcept -> std::uint64_t
			{
				return detail::hash_u64(reinterpret_cast<std::uintptr_t>(ptr));
			}
		};

		template<typename T>
		struct hash<std::unique_ptr<T>>
		{
			using is_avalanching = void;

			auto operator()(const std::unique_ptr<T>& ptr) const noexcept -> std::uint64_t
			{
				return detail::hash_u64(reinterpret_cast<std::uintptr_t>(ptr.get()));
			}
		};

		template<typename T>
		struct hash<std::shared_ptr<T>>
		{
			using is_avalanching = void;

			auto operator()(const std::shared_ptr<T>& ptr) const noexcept -> std::uint64_t
			{
				return detail::hash_u64(reinterpret_cast<std::uintptr_t>(ptr.get()));
			}
		};

		template<
		  class Key,
		  class T,
		  class Hash     = hash<Key>,
		  class KeyEqual = std::equal_to<Key>,
		  class Alloc    = std::allocator<std::pair<const Key, T>>>
		using map = std::unordered_map<Key, T, Hash, KeyEqual, Alloc>;

		template<
		  class Key,
		  class Hash     = hash<Key>,
		  class KeyEqual = std::equal_to<Key>,
		  class Alloc    = std::allocator<Key>>
		using set = std::unordered_set<Key, Hash, KeyEqual, Alloc>;
	} // namespace unordered_dense
} // namespace ankerl

#endif
