/*
 * fuzz_restrict.c - libFuzzer harness: rule B4's restriction check, ours against libical's.
 *
 * The input is an .ics file, parsed by libical as the engine parses a calendar part.  On the
 * parse root and on every VCALENDAR in it, itip_restrict_check (milter/rules/restrict.c, our
 * evaluation of libical's RFC 5546 table) and itip_restrict_libical (icalrestriction_check on
 * a clone) must give the same verdict and the same complaints (component and text, in order);
 * a difference aborts with both lists.  Differences listed as deliberate in
 * t/restrict-expected.tsv do not apply here: there are none, and a new one needs a decision.
 * Exports only LLVMFuzzerTestOneInput; keeps no state between inputs.
 */
#include "ac-config.h"
#include "fuzz.h"
#include "rules/restrict.h"

static void dump(const char *who, const itip_restrict_list *l)
{
    int i;

    fprintf(stderr, "--- %s: valid=%d, %d complaint(s)\n", who, l->valid, l->n);
    for (i = 0; i < l->n; i++)
        fprintf(stderr, "%s: %s\n", icalcomponent_kind_to_string(icalcomponent_isa(l->v[i].comp)),
                l->v[i].msg);
}

static void compare(icalcomponent *comp)
{
    static itip_restrict_list ours, ref;    /* large: kept off the stack, reset every call */
    int same, i;

    itip_restrict_check(comp, &ours);
    if (itip_restrict_libical(comp, &ref) < 0)
        abort();
    same = ours.valid == ref.valid && ours.n == ref.n;
    for (i = 0; same && i < ours.n; i++)
        same = ours.v[i].comp == ref.v[i].comp && strcmp(ours.v[i].msg, ref.v[i].msg) == 0;
    if (!same) {
        fprintf(stderr, "fuzz: restriction checks differ\n");
        dump("ours (restrict.c)", &ours);
        dump("libical (icalrestriction_check)", &ref);
        abort();
    }
    itip_restrict_done(&ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    icalcomponent *root, *k;
    icalcompiter it;

    if (text == NULL)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    root = icalparser_parse_string(text);
    free(text);
    if (root == NULL)
        return 0;
    compare(root);
    if (icalcomponent_isa(root) != ICAL_VCALENDAR_COMPONENT)
        for (it = icalcomponent_begin_component(root, ICAL_VCALENDAR_COMPONENT);
             (k = icalcompiter_deref(&it)) != NULL; icalcompiter_next(&it))
            compare(k);
    icalcomponent_free(root);
    return 0;
}
