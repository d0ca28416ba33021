/*
 * schema_format.c — the "format" checks cfgfs can enforce when asked to.
 *
 * Draft-07 lets "format" be an annotation, and that is the default. With
 * check_formats on, these formats are checked by their RFCs' grammars:
 * date-time (RFC 3339 §5.6, with real calendar days), email (RFC 5322
 * dot-atom addresses), ipv4 (dotted quad, no leading zeros), ipv6
 * (RFC 4291 §2.2), uri (RFC 3986 absolute URI), uri-reference (a URI or a
 * relative reference), hostname (RFC 1123 labels),
 * regex (compiles with the flags "pattern" uses). Other names stay
 * annotations. Pure functions.
 */
#include <string.h>

#include "backend/schema/schema_internal.h"

#define HOSTNAME_MAX_LEN 253u
#define HOSTNAME_MAX_LABEL 63u
#define IPV6_GROUPS 8
#define IPV6_GROUP_DIGITS 4
#define IPV4_PARTS 4
#define IPV4_PART_MAX 255

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

enum schema_format schema_format_from_name(const char *name)
{
	static const struct {
		const char *name;
		enum schema_format f;
	} names[] = {
	    {"date-time", FORMAT_DATE_TIME}, {"email", FORMAT_EMAIL}, {"ipv4", FORMAT_IPV4},
	    {"ipv6", FORMAT_IPV6},           {"uri", FORMAT_URI},     {"hostname", FORMAT_HOSTNAME},
	    {"regex", FORMAT_REGEX},         {"uri-reference", FORMAT_URI_REFERENCE},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0)
			return names[i].f;
	return FORMAT_NONE;
}

/* Reads exactly N digits at S[*I] as a number; -1 when they are not digits. */
static int digits(const char *s, size_t len, size_t *i, size_t n)
{
	int v = 0;
	size_t k;

	if (*i + n > len)
		return -1;
	for (k = 0; k < n; k++) {
		if (!is_digit(s[*i + k]))
			return -1;
		v = v * 10 + (s[*i + k] - '0');
	}
	*i += n;
	return v;
}

static bool expect(const char *s, size_t len, size_t *i, char c)
{
	if (*i >= len || s[*i] != c)
		return false;
	(*i)++;
	return true;
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

static bool check_date_time(const char *s, size_t len)
{
	size_t i = 0;
	int y, mo, d, h, mi, sec, oh, om;

	y = digits(s, len, &i, 4);
	if (y < 0 || !expect(s, len, &i, '-'))
		return false;
	mo = digits(s, len, &i, 2);
	if (mo < 1 || mo > 12 || !expect(s, len, &i, '-'))
		return false;
	d = digits(s, len, &i, 2);
	if (d < 1 || d > days_in_month(y, mo))
		return false;
	if (i >= len || (s[i] != 'T' && s[i] != 't'))
		return false;
	i++;
	h = digits(s, len, &i, 2);
	if (h < 0 || h > 23 || !expect(s, len, &i, ':'))
		return false;
	mi = digits(s, len, &i, 2);
	if (mi < 0 || mi > 59 || !expect(s, len, &i, ':'))
		return false;
	sec = digits(s, len, &i, 2);
	if (sec < 0 || sec > 60) /* 60: a leap second */
		return false;
	if (i < len && s[i] == '.') {
		i++;
		if (i >= len || !is_digit(s[i]))
			return false;
		while (i < len && is_digit(s[i]))
			i++;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z'))
		return i + 1 == len;
	if (i >= len || (s[i] != '+' && s[i] != '-'))
		return false;
	i++;
	oh = digits(s, len, &i, 2);
	if (oh < 0 || oh > 23 || !expect(s, len, &i, ':'))
		return false;
	om = digits(s, len, &i, 2);
	return om >= 0 && om <= 59 && i == len;
}

static bool check_ipv4(const char *s, size_t len)
{
	size_t i = 0;
	int part;

	for (part = 0; part < IPV4_PARTS; part++) {
		size_t start = i;
		int v = 0;

		if (part > 0 && !expect(s, len, &i, '.'))
			return false;
		start = i;
		while (i < len && is_digit(s[i]) && i - start < 3)
			v = v * 10 + (s[i++] - '0');
		if (i == start || v > IPV4_PART_MAX || (s[start] == '0' && i - start > 1))
			return false;
	}
	return i == len;
}

static bool check_ipv6(const char *s, size_t len)
{
	size_t i = 0;
	int groups = 0;
	bool compressed = false;

	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		compressed = true;
		i = 2;
	} else if (len >= 1 && s[0] == ':') {
		return false;
	}
	while (i < len) {
		size_t start = i;

		while (i < len && is_hex(s[i]) && i - start < IPV6_GROUP_DIGITS + 1)
			i++;
		if (i < len && s[i] == '.') {
			/* A trailing dotted quad stands for the last two groups. */
			if (!check_ipv4(s + start, len - start))
				return false;
			groups += 2;
			i = len;
			break;
		}
		if (i == start || i - start > IPV6_GROUP_DIGITS)
			return false;
		groups++;
		if (i == len)
			break;
		if (s[i] != ':')
			return false;
		i++;
		if (i < len && s[i] == ':') {
			if (compressed)
				return false;
			compressed = true;
			i++;
		} else if (i == len) {
			return false; /* a single trailing ':' */
		}
	}
	return compressed ? groups < IPV6_GROUPS : groups == IPV6_GROUPS;
}

static bool check_hostname(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || len > HOSTNAME_MAX_LEN)
		return false;
	while (i < len) {
		size_t start = i;

		while (i < len && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '-'))
			i++;
		if (i == start || i - start > HOSTNAME_MAX_LABEL || s[start] == '-' ||
		    s[i - 1] == '-')
			return false;
		if (i == len)
			return true;
		if (s[i] != '.' || i + 1 == len)
			return false;
		i++;
	}
	return false;
}

static bool check_email(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	size_t local, i;

	if (at == NULL)
		return false;
	local = (size_t)(at - s);
	if (local == 0 || s[0] == '.' || s[local - 1] == '.')
		return false;
	for (i = 0; i < local; i++) {
		char c = s[i];

		if (c == '.' && s[i + 1] == '.')
			return false;
		if (!is_alpha(c) && !is_digit(c) && strchr("!#$%&'*+-/=?^_`{|}~.", c) == NULL)
			return false;
	}
	if (len - local - 1 >= 2 && at[1] == '[' && s[len - 1] == ']')
		return check_ipv4(at + 2, len - local - 3);
	return check_hostname(at + 1, len - local - 1);
}

static bool uri_char(char c)
{
	return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("-._~!$&'()*+,;=:@/?#[]%", c));
}

static bool check_authority(const char *s, size_t len)
{
	const char *host = s, *end = s + len, *p;

	for (p = s; p < end; p++)
		if (*p == '@')
			host = p + 1;
	for (p = s; p < host; p++)
		if (*p == '[' || *p == ']')
			return false;
	if (host < end && *host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));

		if (close == NULL)
			return false;
		if (!check_ipv6(host + 1, (size_t)(close - host - 1)))
			return false;
		p = close + 1;
	} else {
		for (p = host; p < end && *p != ':'; p++)
			if (*p == '[' || *p == ']')
				return false;
	}
	if (p < end) {
		if (*p++ != ':')
			return false;
		for (; p < end; p++)
			if (!is_digit(*p))
				return false;
	}
	return true;
}

/* RFC 3986 characters, escapes and authority of S from offset I (after any scheme). */
static bool check_uri_rest(const char *s, size_t len, size_t i)
{
	bool fragment = false;
	size_t k;

	for (k = i; k < len; k++) {
		char c = s[k];

		if (!uri_char(c))
			return false;
		if (c == '%' && (k + 2 >= len || !is_hex(s[k + 1]) || !is_hex(s[k + 2])))
			return false;
		if (c == '#') {
			if (fragment)
				return false;
			fragment = true;
		}
	}
	if (len - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
		size_t start = i + 2, end = start;

		while (end < len && strchr("/?#", s[end]) == NULL)
			end++;
		return check_authority(s + start, end - start);
	}
	for (; i < len; i++)
		if (s[i] == '[' || s[i] == ']')
			return false;
	return true;
}

/* Length of the "scheme:" prefix of S, or 0 when there is none. */
static size_t scheme_len(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || !is_alpha(s[0]))
		return 0;
	while (i < len && (is_alpha(s[i]) || is_digit(s[i]) || strchr("+-.", s[i]) != NULL))
		i++;
	return i < len && s[i] == ':' ? i + 1 : 0;
}

static bool check_uri(const char *s, size_t len)
{
	size_t i = scheme_len(s, len);

	return i > 0 && check_uri_rest(s, len, i);
}

/* A URI or a relative reference; a first segment with ':' would be a scheme. */
static bool check_uri_reference(const char *s, size_t len)
{
	return check_uri_rest(s, len, scheme_len(s, len));
}

static bool check_regex(const char *s, size_t len)
{
	const uint32_t opts = SCHEMA_REGEX_OPTIONS;
	PCRE2_SIZE off;
	int errcode;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)s, len, opts, &errcode, &off, NULL);

	if (code == NULL)
		return false;
	pcre2_code_free(code);
	return true;
}

bool schema_format_check(enum schema_format f, const char *s, size_t len)
{
	switch (f) {
	case FORMAT_DATE_TIME:
		return check_date_time(s, len);
	case FORMAT_EMAIL:
		return check_email(s, len);
	case FORMAT_IPV4:
		return check_ipv4(s, len);
	case FORMAT_IPV6:
		return check_ipv6(s, len);
	case FORMAT_URI:
		return check_uri(s, len);
	case FORMAT_HOSTNAME:
		return check_hostname(s, len);
	case FORMAT_URI_REFERENCE:
		return check_uri_reference(s, len);
	case FORMAT_REGEX:
		return check_regex(s, len);
	default:
		return true;
	}
}
