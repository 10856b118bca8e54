"""Input shaper definitions: (amplitudes A, times T) per shaper type for a
frequency and damping ratio, as Klipper defines them (zv, mzv, zvd, ei,
2hump_ei, 3hump_ei). Amplitudes are not normalised; the C wrapper
(motion.input_shaper) normalises them to sum 1 and centres the pulses.

Formulas: ZV/ZVD/MZV are the classic zero-vibration shapers with damping
factor K = exp(-zeta*pi/sqrt(1-zeta^2)) (MZV uses K^0.75 and pulses at 0,
3/8 and 3/4 of the damped period, amplitudes 1-1/sqrt2, (sqrt2-1)K,
(1-1/sqrt2)K^2). EI, 2-hump EI and 3-hump EI use Singhose's polynomial
fits in the damping ratio with a 5 % vibration tolerance; the numeric
tables below are those published coefficients (Klipper uses the same).
"""
import math

VIBRATION_TOLERANCE = 1. / 20.      # Klipper: SHAPER_VIBRATION_REDUCTION 20
DEFAULT_DAMPING_RATIO = .1


def _damped(freq, zeta):
    """(damped period t_d, sqrt(1 - zeta^2))."""
    df = math.sqrt(1. - zeta * zeta)
    return 1. / (freq * df), df


def zv(freq, zeta):
    t_d, df = _damped(freq, zeta)
    k = math.exp(-zeta * math.pi / df)
    return [1., k], [0., .5 * t_d]


def zvd(freq, zeta):
    t_d, df = _damped(freq, zeta)
    k = math.exp(-zeta * math.pi / df)
    return [1., 2. * k, k * k], [0., .5 * t_d, t_d]


def mzv(freq, zeta):
    t_d, df = _damped(freq, zeta)
    k = math.exp(-.75 * zeta * math.pi / df)
    edge = 1. - 1. / math.sqrt(2.)
    return ([edge, (math.sqrt(2.) - 1.) * k, edge * k * k],
            [0., .375 * t_d, .75 * t_d])


def ei(freq, zeta, v_tol=VIBRATION_TOLERANCE):
    t_d, _ = _damped(freq, zeta)
    z = zeta
    a1 = (.24968 + .24961 * v_tol) + ((.80008 + 1.23328 * v_tol)
                                      + (.49599 + 3.17316 * v_tol) * z) * z
    a3 = (.25149 + .21474 * v_tol) + ((-.83249 + 1.41498 * v_tol)
                                      + (.85181 - 4.90094 * v_tol) * z) * z
    t2 = .4999 + (((.46159 + 8.57843 * v_tol) * v_tol)
                  + (((4.26169 - 108.644 * v_tol) * v_tol)
                     + ((1.75601 + 336.989 * v_tol) * v_tol) * z) * z) * z
    return [a1, 1. - a1 - a3, a3], [0., t2 * t_d, t_d]


# Multi-hump EI: per pulse, cubic polynomials in the damping ratio for the
# time (in periods 1/freq) and the amplitude.
_HUMP2_T = [[0., 0., 0., 0.],
            [.49890, .16270, -.54262, 6.16180],
            [.99748, .18382, -1.58270, 8.17120],
            [1.49920, -.09297, -.28338, 1.85710]]
_HUMP2_A = [[.16054, .76699, 2.26560, -1.22750],
            [.33911, .45081, -2.58080, 1.73650],
            [.34089, -.61533, -.68765, .42261],
            [.15997, -.60246, 1.00280, -.93145]]
_HUMP3_T = [[0., 0., 0., 0.],
            [.49974, .23834, .44559, 12.4720],
            [.99849, .29808, -2.36460, 23.3990],
            [1.49870, .10306, -2.01390, 17.0320],
            [1.99960, -.28231, .61536, 5.40450]]
_HUMP3_A = [[.11275, .76632, 3.29160, -1.44380],
            [.23698, .61164, -2.57850, 4.85220],
            [.30008, -.19062, -2.14560, .13744],
            [.23775, -.73297, .46885, -2.08650],
            [.11244, -.45439, .96382, -1.46000]]


def _horner(coeffs, x):
    """coeffs[0] + coeffs[1]*x + ... evaluated from the highest power."""
    acc = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        acc = acc * x + c
    return acc


def _from_polynomials(freq, zeta, t_table, a_table):
    period = 1. / freq
    return ([_horner(a, zeta) for a in a_table],
            [_horner(t, zeta) * period for t in t_table])


def two_hump_ei(freq, zeta):
    return _from_polynomials(freq, zeta, _HUMP2_T, _HUMP2_A)


def three_hump_ei(freq, zeta):
    return _from_polynomials(freq, zeta, _HUMP3_T, _HUMP3_A)


SHAPERS = {"zv": zv, "mzv": mzv, "zvd": zvd, "ei": ei,
           "2hump_ei": two_hump_ei, "3hump_ei": three_hump_ei}


def get_shaper(name, freq, damping_ratio=DEFAULT_DAMPING_RATIO):
    """(A, T) of a named shaper; ([], []) for 'none'. KeyError if unknown."""
    if name == "none":
        return [], []
    return SHAPERS[name](freq, damping_ratio)


def normalized(amplitudes, times):
    """Pulses as the C wrapper uses them: amplitudes / sum, offsets
    centroid - T, ascending (same arithmetic as the C code)."""
    inv = 1. / sum(amplitudes)
    pulses = [(a * inv, -t) for a, t in reversed(list(zip(amplitudes, times)))]
    mean = 0.
    for a, t in pulses:
        mean += a * t
    pairs = sorted((t - mean, a) for a, t in pulses)
    return [a for _, a in pairs], [t for t, _ in pairs]
