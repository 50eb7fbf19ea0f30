"""A login flood: N concurrent wrong passwords, each from its own forwarded address (so the
throttle lets every one reach the password check), against a running `synkro serve`.
Prints how many answers of each status came back. See docs/benchmarks.md."""
# 300 concurrent wrong logins, each from its own (forwarded) address: counts statuses.
import concurrent.futures, json, sys, urllib.request, collections
url = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
def one(i):
    req = urllib.request.Request(url, data=json.dumps({"username": "root", "password": f"wrong-{i}"}).encode(),
        headers={"content-type": "application/json", "x-forwarded-for": f"198.18.{i // 250}.{i % 250 + 1}"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception as e:
        return type(e).__name__
with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
    print(collections.Counter(pool.map(one, range(n))))
